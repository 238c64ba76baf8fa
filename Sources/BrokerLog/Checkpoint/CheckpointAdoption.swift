import Glibc

/// What a usable checkpoint gives an open: the segments it covers, opened (the
/// newest for writing) and sized as it says, the latest index as a name-chain check
/// to go on from, and the last covered timestamp.
struct AdoptedCheckpoint {
    var segments: [Segment]
    var chain: NameChain
    var lastTimestamp: Int64
    var keys: IdempotencyTable
}

extension Checkpoint {
    /// Reads `directory`'s checkpoint and checks it against its segments as SPEC.md 2.6
    /// lists; nil when there is none. Every reason not to use it is thrown.
    static func adopt(
        in directory: String, listed: [SegmentFileName.Listed], faults: (any StorageFaults)?
    ) throws(CheckpointProblem) -> AdoptedCheckpoint? {
        guard let bytes = try problem({ () throws(LogError) in try CheckpointFile.read(in: directory) }) else { return nil }
        let checkpoint = try Checkpoint.decode(bytes)
        if let mismatch = checkpoint.tableMismatch(with: listed) { throw mismatch }
        var segments: [Segment] = []
        var lastFrameTimestamp: Int64?
        for (position, entry) in checkpoint.segments.enumerated() {
            let isLast = position == checkpoint.segments.count - 1
            let file = try problem { () throws(LogError) in
                try FileHandle.open(listed[position].path, flags: position == listed.count - 1 ? O_RDWR : O_RDONLY)
            }
            let reader = try problem { () throws(LogError) in
                try SegmentReader(file: file, path: listed[position].path, expectedBaseSeq: entry.baseSeq)
            }
            lastFrameTimestamp = try entry.check(against: reader, isLastCovered: isLast) ?? lastFrameTimestamp
            var segment = Segment(header: reader.header, path: reader.path, file: file, faults: faults)
            segment.adopt(entry)
            segments.append(segment)
        }
        if let mismatch = checkpoint.timestampMismatch(lastFrameTimestamp: lastFrameTimestamp) { throw mismatch }
        return AdoptedCheckpoint(
            segments: segments, chain: NameChain(firstBaseSeq: listed[0].baseSeq, latest: checkpoint.latest),
            lastTimestamp: checkpoint.lastTimestamp, keys: checkpoint.keys)
    }

    /// Runs `body`, turning a log error into a reason to ignore the checkpoint.
    private static func problem<T>(_ body: () throws(LogError) -> T) throws(CheckpointProblem) -> T {
        do { return try body() } catch { throw CheckpointProblem("\(error)") }
    }
}
