/// Compares a data directory's `CHECKPOINT` with its segments, read-only and without
/// the lock: what `broker verify` says of it (SPEC.md 2.6, 5.2). It makes the checks
/// an open makes, then rebuilds what the checkpoint covers from the frames and
/// compares the two.
public enum CheckpointAudit {
    public enum Outcome: Equatable, Sendable {
        /// The directory has no checkpoint.
        case absent
        /// The next open will ignore it, and why: harmless, the open reads every segment.
        case ignored(String)
        /// The covered frames could not be read to compare (the segment scan reports why).
        case unchecked(String)
        /// The next open would use it, and it holds exactly what the segments hold.
        case consistent(lastSeq: UInt64, segments: Int, names: Int)
        /// The next open would use it, but it disagrees with the segments.
        case inconsistent(String)
    }

    public static func run(directory: String) throws(LogError) -> Outcome {
        guard let bytes = try CheckpointFile.read(in: directory) else { return .absent }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.decode(bytes) } catch { return .ignored(error.description) }
        let listed = try SegmentFileName.list(in: directory)
        if let mismatch = checkpoint.tableMismatch(with: listed) { return .ignored(mismatch.description) }
        var chain = NameChain(firstBaseSeq: listed[0].baseSeq)
        var lastSeq = listed[0].baseSeq - 1
        for (position, entry) in checkpoint.segments.enumerated() {
            let segment: SegmentReader
            do { segment = try SegmentReader(path: listed[position].path) } catch { return .ignored("\(error)") }
            if let mismatch = try entry.mismatch(with: segment.file, isLastCovered: position == checkpoint.segments.count - 1) {
                return .ignored(mismatch.description)
            }
            var offsets = SparseOffsetIndex()
            let frames = segment.frames(limit: entry.coveredBytes)
            while let item = try frames.next() {
                switch item {
                case let .frame(frame, offset):
                    if let problem = chain.note(frame, at: offset) { return .unchecked("\(segment.path): byte offset \(offset): \(problem)") }
                    offsets.note(seq: frame.seq, offset: offset)
                    lastSeq = frame.seq
                case let .damage(offset, problem):
                    return .unchecked("\(segment.path): byte offset \(offset): \(problem)")
                }
            }
            guard lastSeq == entry.lastSeq, offsets == entry.offsets else {
                return .inconsistent("\(segment.path): its entry (last seq \(entry.lastSeq), \(entry.offsets.count) offsets) differs from the frames (last seq \(lastSeq), \(offsets.count) offsets)")
            }
        }
        if let difference = chain.latest.difference(from: checkpoint.latest) {
            return .inconsistent("latest index: \(difference)")
        }
        return .consistent(lastSeq: lastSeq, segments: checkpoint.segments.count, names: checkpoint.latest.count)
    }
}
