#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    func tableMismatch(with listed: [(baseSeq: UInt64, path: String)]) -> CheckpointProblem? {
        guard !segments.isEmpty, segments.count <= listed.count else {
            return CheckpointProblem("it covers \(segments.count) segments, the directory has \(listed.count)")
        }
        for (position, entry) in segments.enumerated() {
            guard listed[position].baseSeq == entry.baseSeq else {
                return CheckpointProblem("it covers base seq \(entry.baseSeq) where the directory has \(listed[position].path)")
            }
            if position > 0, entry.baseSeq != segments[position - 1].lastSeq + 1 {
                return CheckpointProblem("its entry for \(listed[position].path) does not continue the one before it")
            }
        }
        return nil
    }
}

extension Checkpoint.SegmentEntry {
    /// Why this entry does not describe the segment in `file` (SPEC.md 2.6: its size,
    /// and its last frame's offset, seq, CRC and end); nil when it does. The segment's
    /// header is checked by whoever opened it.
    func mismatch(with file: FileHandle, isLastCovered: Bool) throws(LogError) -> CheckpointProblem? {
        let size = try file.size()
        guard size == coveredBytes || (isLastCovered && size > coveredBytes) else {
            return CheckpointProblem("\(file.path) is \(size) bytes, the checkpoint covers \(coveredBytes)")
        }
        if isEmpty {
            return coveredBytes == SegmentHeader.size ? nil : CheckpointProblem("\(file.path): an empty segment entry covers \(coveredBytes) bytes")
        }
        let reader = FrameReader(file: file, from: Int(lastFrameOffset), limit: coveredBytes, expectedSeq: lastSeq, chunkSize: 4096)
        guard case let .frame(frame, offset)? = try reader.next(), frame.crc == lastFrameCRC, offset + frame.frameSize == coveredBytes else {
            return CheckpointProblem("\(file.path): the frame at byte offset \(lastFrameOffset) is not the one the checkpoint names")
        }
        return nil
    }
}
