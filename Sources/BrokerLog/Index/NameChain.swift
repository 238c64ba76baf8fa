/// Checks that each record links to the previous record of its name (SPEC.md 2.3),
/// keeping the latest location of every name as it goes. Used by recovery on open
/// and by `broker verify`.
package struct NameChain {
    package private(set) var latest: LatestIndex
    /// Names first seen may link below this seq: to segments removed by hand.
    let firstBaseSeq: UInt64

    /// A chain check that goes on from `latest` (a checkpoint's index) or starts empty.
    package init(firstBaseSeq: UInt64, latest: LatestIndex = LatestIndex()) {
        self.firstBaseSeq = firstBaseSeq
        self.latest = latest
    }

    /// Notes a frame; the problem when its link is not the name's previous record.
    package mutating func note(_ frame: FrameView, at offset: Int) -> FrameProblem? {
        let location = RecordLocation(seq: frame.seq, offset: UInt32(offset))
        let previous = latest.update(bytes: frame.nameBytes, to: location)
        let found = RecordLocation(seq: frame.prevSeq, offset: frame.prevOffset)
        if let previous {
            if found == previous { return nil }
        } else if frame.prevSeq == 0 || frame.prevSeq < firstBaseSeq {
            return nil
        }
        return .brokenNameChain(seq: frame.seq, expected: previous, found: found)
    }
}
