import BrokerStore
import Foundation
import Testing

@testable import BrokerLog

/// The worked examples of SPEC.md 2.5: these exact bytes are what the encoder writes.
@Suite(.timeLimit(.minutes(1))) struct FormatExampleTests {
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    static func encode(_ fields: RecordFrame.Fields, _ event: String, _ data: String, compress: Bool) -> [UInt8] {
        var scratch: [UInt8] = []
        var out: [UInt8] = []
        _ = RecordFrame.encode(fields, event: event, data: [UInt8](data), compress: compress, scratch: &scratch, into: &out)
        return out
    }

    static let header = SegmentHeader(baseSeq: 1, createdMs: 1_700_000_000_000, version: 1).encoded()
    /// SPEC.md 2.5's version-2 example: a batch of two records, the first with a key.
    static let headerV2 = SegmentHeader(baseSeq: 1, createdMs: 1_700_000_000_000).encoded()
    static let batchFirst = encode(
        .init(
            seq: 1, timestamp: 1_700_000_000_000, prevSeq: 0, prevOffset: 0, continuesBatch: true,
            key: IdempotencyKey("k1", requestDigest: 0x0807_0605_0403_0201)),
        "temp", #"{"c":21.5}"#, compress: true)
    static let batchLast = encode(.init(seq: 2, timestamp: 1_700_000_000_000, prevSeq: 1, prevOffset: 32), "temp", #"{"c":22}"#, compress: true)
    static let raw = encode(.init(seq: 1, timestamp: 1_700_000_000_000, prevSeq: 0, prevOffset: 0), "temp", #"{"c":21.5}"#, compress: true)
    static let lz4 = encode(
        .init(seq: 2, timestamp: 1_700_000_000_001, prevSeq: 1, prevOffset: 32), "temp",
        #"{"note":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#, compress: true)

    @Test func headerBytes() {
        #expect(Self.hex(Self.header) == "42 52 4f 4b 45 52 53 47 01 00 00 00 01 00 00 00 00 00 00 00 00 68 e5 cf 8b 01 00 00 ae 37 71 da")
    }

    @Test func rawFrameBytes() {
        #expect(
            Self.hex(Self.raw)
                == "2e 00 00 00 40 44 86 d9 01 00 00 00 00 00 00 00 00 68 e5 cf 8b 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 00 74 65 6d 70 7b 22 63 22 3a 32 31 2e 35 7d"
        )
    }

    @Test func lz4FrameBytes() {
        #expect(
            Self.hex(Self.lz4)
                == "3c 00 00 00 8a 58 c1 78 02 00 00 00 00 00 00 00 01 68 e5 cf 8b 01 00 00 01 00 00 00 00 00 00 00 20 00 00 00 01 00 04 00 74 65 6d 70 3b 00 00 00 af 7b 22 6e 6f 74 65 22 3a 22 61 01 00 19 50 61 61 61 22 7d"
        )
    }

    @Test func versionTwoBytes() {
        #expect(Self.hex(Self.headerV2) == "42 52 4f 4b 45 52 53 47 02 00 00 00 01 00 00 00 00 00 00 00 00 68 e5 cf 8b 01 00 00 69 2f b5 83")
        #expect(
            Self.hex(Self.batchFirst)
                == "39 00 00 00 68 f4 96 94 01 00 00 00 00 00 00 00 00 68 e5 cf 8b 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 04 00 74 65 6d 70 02 6b 31 01 02 03 04 05 06 07 08 7b 22 63 22 3a 32 31 2e 35 7d"
        )
        #expect(
            Self.hex(Self.batchLast)
                == "2c 00 00 00 cc a4 7d d1 02 00 00 00 00 00 00 00 00 68 e5 cf 8b 01 00 00 01 00 00 00 00 00 00 00 20 00 00 00 00 00 04 00 74 65 6d 70 7b 22 63 22 3a 32 32 7d"
        )
    }

    @Test func versionTwoDecodesBackWithItsFlagsAndKey() throws {
        try Self.batchFirst.withUnsafeBytes { raw in
            let view = try RecordFrame.decode(raw, version: 2)
            #expect(view.continuesBatch && view.isKeyed)
            #expect(view.key == IdempotencyKey("k1", requestDigest: 0x0807_0605_0403_0201))
            #expect(try view.record().text == #"{"c":21.5}"#)
            // The same bytes in a version-1 segment: byte 37 is reserved there.
            #expect(throws: FrameProblem.badReserved(3)) { try RecordFrame.decode(raw, version: 1) }
        }
    }

    @Test func examplesDecodeBack() throws {
        for (bytes, codec) in [(Self.raw, Codec.raw), (Self.lz4, Codec.lz4)] {
            let record = try bytes.withUnsafeBytes { raw in
                let view = try RecordFrame.decode(raw, version: 1)
                #expect(view.codec == codec)
                return try view.record()
            }
            #expect(record.event == "temp")
        }
    }

    /// Prints the examples for SPEC.md (run with BROKER_PRINT_EXAMPLES=1).
    @Test func printExamples() {
        guard ProcessInfo.processInfo.environment["BROKER_PRINT_EXAMPLES"] != nil else { return }
        print("HEADER", Self.hex(Self.header))
        print("RAW", Self.hex(Self.raw))
        print("LZ4", Self.hex(Self.lz4))
        print("HEADER2", Self.hex(Self.headerV2))
        print("BATCH1", Self.hex(Self.batchFirst))
        print("BATCH2", Self.hex(Self.batchLast))
    }
}
