import BrokerLog
import BrokerStore

/// Segment files byte by byte, valid or deliberately not, for the tests of what
/// readers make of them: frames encoded by the log's own encoder, then changed.
public struct SegmentBuilder {
    public private(set) var bytes: [UInt8]
    /// Where each frame added so far starts.
    public private(set) var frameOffsets: [Int] = []
    private var scratch: [UInt8] = []

    /// A header with this base seq (any value, valid or not).
    public init(baseSeq: UInt64, createdMs: Int64 = 1_700_000_000_000, version: UInt16 = 2) {
        bytes = SegmentHeader(baseSeq: baseSeq, createdMs: createdMs, version: version).encoded()
    }

    /// Appends a frame; `prevSeq`/`prevOffset` 0 unless given.
    public mutating func frame(
        seq: UInt64, event: String = "e", data: String = "{}", timestamp: Int64 = 1_700_000_000_000,
        prevSeq: UInt64 = 0, prevOffset: UInt32 = 0, continuesBatch: Bool = false, key: IdempotencyKey? = nil
    ) {
        frameOffsets.append(bytes.count)
        _ = RecordFrame.encode(
            .init(seq: seq, timestamp: timestamp, prevSeq: prevSeq, prevOffset: prevOffset, continuesBatch: continuesBatch, key: key),
            event: event, data: Array(data.utf8), compress: false, scratch: &scratch, into: &bytes)
    }

    /// Drops every byte from `count` on, as a torn write leaves a file.
    public mutating func truncate(to count: Int) {
        bytes.removeSubrange(count...)
        frameOffsets.removeAll { $0 >= count }
    }

    /// Flips bits of the byte at `offset`.
    public mutating func flip(_ offset: Int, mask: UInt8 = 0x01) {
        bytes[offset] ^= mask
    }
}
