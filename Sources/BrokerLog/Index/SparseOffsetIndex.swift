/// A sparse seq-to-offset index of one segment, like Kafka's offset index: one entry
/// every ``interval`` bytes of frames, so finding a seq reads at most that many bytes
/// past the entry. It costs well under a byte per record; an open takes it from the checkpoint or rebuilds it.
package struct SparseOffsetIndex: Sendable, Equatable {
    static let interval = 4096

    private var seqs: [UInt64] = []
    private var offsets: [UInt32] = []

    /// Notes a frame; keeps it when it starts at least ``interval`` bytes after the last kept one.
    mutating func note(seq: UInt64, offset: Int) {
        if let last = offsets.last, offset - Int(last) < Self.interval { return }
        seqs.append(seq)
        offsets.append(UInt32(offset))
    }

    var count: Int { seqs.count }

    /// Every kept frame, in order.
    func forEach(_ body: (_ seq: UInt64, _ offset: UInt32) -> Void) {
        for (seq, offset) in zip(seqs, offsets) { body(seq, offset) }
    }

    /// The kept frame with the greatest seq at or below `seq`: where a forward read
    /// for `seq` starts. Nil when `seq` is before every kept frame.
    func floor(_ seq: UInt64) -> (seq: UInt64, offset: Int)? {
        var low = 0
        var high = seqs.count
        while low < high {
            let mid = (low + high) / 2
            if seqs[mid] <= seq { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : (seqs[low - 1], Int(offsets[low - 1]))
    }
}
