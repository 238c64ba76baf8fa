import Glibc

/// The `CHECKPOINT` file of a data directory (SPEC.md 2.6): replaced whole and
/// atomically, so a crash leaves the old checkpoint or the new one.
enum CheckpointFile {
    static let name = "CHECKPOINT"

    static func path(in directory: String) -> String { directory + "/" + name }

    /// Writes `bytes` to `CHECKPOINT.tmp`, fsyncs it, renames it over `CHECKPOINT`
    /// and fsyncs the directory.
    static func write(_ bytes: [UInt8], in directory: String) throws(LogError) {
        let target = path(in: directory)
        let temporary = target + ".tmp"
        do throws(LogError) {
            let file = try FileHandle.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.write(bytes, at: 0)
            try file.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else { throw .io(path: target, operation: "rename", errno: errno) }
        try FileHandle.syncDirectory(directory)
    }

    /// The checkpoint's bytes, or nil when the directory has none.
    static func read(in directory: String) throws(LogError) -> [UInt8]? {
        let target = path(in: directory)
        guard PathKind.of(target) == .file else { return nil }
        let file = try FileHandle.openForReading(target)
        let size = try file.size()
        var bytes = [UInt8](repeating: 0, count: size)
        let read = try file.read(into: &bytes, count: size, at: 0)
        return Array(bytes[0..<read])
    }
}

extension Checkpoint {
    /// Why this checkpoint's segment table does not fit the directory's segments
    /// (SPEC.md 2.6: its segments are the first ones, with the same base seqs, each
    /// continuing the one before); nil when it does.
    func tableMismatch(with listed: [SegmentFileName.Listed]) -> CheckpointProblem? {
        guard !segments.isEmpty, segments.count <= listed.count else {
            return CheckpointProblem("it covers \(segments.count) segments, the directory has \(listed.count)")
        }
        for (position, entry) in segments.enumerated() {
            guard listed[position].baseSeq == entry.baseSeq, listed[position].problem == nil else {
                return CheckpointProblem("it covers base seq \(entry.baseSeq) where the directory has \(listed[position].path)")
            }
            if position > 0, entry.baseSeq != segments[position - 1].lastSeq + 1 {
                return CheckpointProblem("its entry for \(listed[position].path) does not continue the one before it")
            }
        }
        return nil
    }

    /// Why `lastTimestamp` is not the timestamp of the last covered frame (0 when the
    /// covered segments hold none); nil when it is. Timestamps never decrease, so that
    /// frame's is the greatest covered, and a wrong one would stamp new records wrongly.
    func timestampMismatch(lastFrameTimestamp: Int64?) -> CheckpointProblem? {
        let expected = lastFrameTimestamp ?? 0
        guard lastTimestamp != expected else { return nil }
        return CheckpointProblem("its lastTimestamp \(lastTimestamp) is not \(expected), the timestamp of the last covered record")
    }
}

extension Checkpoint.SegmentEntry {
    /// Checks that this entry describes `segment` (SPEC.md 2.6: its size, and its last
    /// frame's offset, seq, CRC and end) and returns that frame's timestamp (nil for an
    /// empty segment). The segment's header is checked by whoever opened it.
    func check(against segment: SegmentReader, isLastCovered: Bool) throws(CheckpointProblem) -> Int64? {
        let size = segment.fileSize
        guard size == coveredBytes || (isLastCovered && size > coveredBytes) else {
            throw CheckpointProblem("\(segment.path) is \(size) bytes, the checkpoint covers \(coveredBytes)")
        }
        if isEmpty {
            guard coveredBytes == SegmentHeader.size else {
                throw CheckpointProblem("\(segment.path): an empty segment entry covers \(coveredBytes) bytes")
            }
            return nil
        }
        let found = try? LogWalker.frame(at: Int(lastFrameOffset), seq: lastSeq, in: segment, limit: coveredBytes) { frame in
            (frame.crc, Int(lastFrameOffset) + frame.frameSize, frame.timestamp, frame.continuesBatch)
        }
        // A covered prefix ends with a whole batch (SPEC.md 2.4: batches never span segments).
        guard let (crc, end, timestamp, continues) = found, crc == lastFrameCRC, end == coveredBytes, !continues else {
            throw CheckpointProblem("\(segment.path): the frame at byte offset \(lastFrameOffset) is not the one the checkpoint names")
        }
        return timestamp
    }
}

extension Segment {
    /// The segment as a checkpoint records it, covering all of its bytes.
    var checkpointEntry: Checkpoint.SegmentEntry {
        Checkpoint.SegmentEntry(
            baseSeq: baseSeq, lastSeq: lastSeq, coveredBytes: size,
            lastFrameOffset: lastFrameOffset, lastFrameCRC: lastFrameCRC, offsets: offsets)
    }

    /// Takes the size, last frame and sparse index a checkpoint covers.
    mutating func adopt(_ entry: Checkpoint.SegmentEntry) {
        size = entry.coveredBytes
        lastSeq = entry.lastSeq
        lastFrameOffset = entry.lastFrameOffset
        lastFrameCRC = entry.lastFrameCRC
        offsets = entry.offsets
    }
}
