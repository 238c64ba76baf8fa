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

    static let header = SegmentHeader(baseSeq: 1, createdMs: 1_700_000_000_000).encoded()
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

    @Test func examplesDecodeBack() throws {
        for (bytes, codec) in [(Self.raw, Codec.raw), (Self.lz4, Codec.lz4)] {
            let record = try bytes.withUnsafeBytes { raw in
                let view = try RecordFrame.decode(raw)
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
    }
}
