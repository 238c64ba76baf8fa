import BrokerStore
import Testing

@testable import BrokerLog

/// SPEC.md 2.3's rules, in the order a reader checks them: what a frame that breaks
/// two rules is reported as, and which faults make no record at all (rules 1 to 4)
/// rather than a record whose data cannot be read (rule 5).
@Suite struct FrameRuleOrderTests {
    /// A codec-0 frame of `data` at seq 1, changed by `change`, with its CRC made good.
    static func frame(_ data: String, compress: Bool = false, _ change: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var scratch: [UInt8] = []
        var bytes: [UInt8] = []
        _ = RecordFrame.encode(
            .init(seq: 1, timestamp: 1_700_000_000_000, prevSeq: 0, prevOffset: 0), event: "e", data: Array(data.utf8), compress: compress,
            scratch: &scratch, into: &bytes)
        change(&bytes)
        let crc = CRC32C.checksum(Array(bytes[8...]))
        bytes.replaceSubrange(4..<8, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws(FrameProblem) -> FrameView {
        try bytes.withUnsafeBytes { raw in Result { () throws(FrameProblem) in try RecordFrame.decode(raw, version: 2) } }.get()
    }

    /// Where the payload starts in these frames: after a one-byte name.
    static let payload = 41
    static let compressible = String(repeating: "abcd", count: 40)

    static func setUncompressedLength(_ length: UInt32, in bytes: inout [UInt8]) {
        bytes.replaceSubrange(payload..<(payload + 4), with: withUnsafeBytes(of: length.littleEndian) { Array($0) })
    }

    @Test func aCodecOnePayloadShorterThanItsLengthFieldIsNoRecord() {
        let short = Self.frame("ab") { $0[36] = 1 }
        #expect(throws: FrameProblem.badCompressedPayload("payload shorter than its length field")) { _ = try Self.decode(short) }
        // Rule 3 is checked before rule 4: with seq 0 as well, the payload is named.
        let both = Self.frame("ab") {
            $0[36] = 1
            $0.replaceSubrange(8..<16, with: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: FrameProblem.badCompressedPayload("payload shorter than its length field")) { _ = try Self.decode(both) }
    }

    @Test func anUncompressedLengthOver2To30IsNoRecord() throws {
        let sound = Self.frame(Self.compressible, compress: true)
        #expect(try Self.decode(sound).codec == .lz4)
        let huge = Self.frame(Self.compressible, compress: true) { Self.setUncompressedLength((1 << 30) + 1, in: &$0) }
        #expect(throws: FrameProblem.badCompressedPayload("uncompressed length \((1 << 30) + 1) exceeds the limit")) {
            _ = try Self.decode(huge)
        }
    }

    /// A block that does not decompress to its length breaks rule 5 only: the frame is
    /// a record in seq order whose data cannot be read; with a bad seq as well, rule 4
    /// is what is reported.
    @Test func aBlockThatDoesNotDecompressIsARecordWhoseDataFails() throws {
        let wrongLength = Self.frame(Self.compressible, compress: true) {
            Self.setUncompressedLength(UInt32(Self.compressible.utf8.count + 1), in: &$0)
        }
        let view = try Self.decode(wrongLength)
        #expect(view.seq == 1)
        #expect(throws: FrameProblem.self) { _ = try view.data() }
        let alsoSeqZero = Self.frame(Self.compressible, compress: true) {
            Self.setUncompressedLength(UInt32(Self.compressible.utf8.count + 1), in: &$0)
            $0.replaceSubrange(8..<16, with: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: FrameProblem.seqOutOfRange(0)) { _ = try Self.decode(alsoSeqZero) }
    }
}
