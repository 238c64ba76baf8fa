#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens a data directory for writing: takes the lock, checks every segment, rebuilds
/// the latest index and cuts a torn tail off the newest segment (SPEC.md 3.4).
/// Nothing is changed on disk unless every sealed segment is sound.
struct LogRecovery {
    let directory: String
    let options: LogOptions

    func open() throws(LogError) -> LogState {
        try createDirectory()
        let lock = try FileHandle.open(directory + "/LOCK", flags: O_RDWR | O_CREAT)
        try Self.takeWriterLock(lock, directory: directory)

        let listed = try SegmentFileName.list(in: directory)
        var segments: [Segment] = []
        var chain = NameChain(firstBaseSeq: listed.first?.baseSeq ?? 1)
        var lastTimestamp: Int64 = 0
        for (position, entry) in listed.enumerated() {
            let isNewest = position == listed.count - 1
            var segment = try openSegment(entry.path, baseSeq: entry.baseSeq, writable: isNewest)
            if let previous = segments.last, segment.baseSeq != previous.lastSeq + 1 {
                throw .discontinuity(segment: segment.path, expectedBaseSeq: previous.lastSeq + 1, foundBaseSeq: segment.baseSeq)
            }
            let reader = FrameReader(file: segment.file, from: SegmentHeader.size, limit: try segment.file.size(), expectedSeq: segment.baseSeq)
            scan: while let item = try reader.next() {
                switch item {
                case let .frame(frame, offset):
                    if let problem = chain.note(frame, at: offset) {
                        throw .corrupt(segment: segment.path, offset: offset, problem: problem)
                    }
                    segment.noteFrame(seq: frame.seq, offset: offset)
                    segment.size = offset + frame.frameSize
                    lastTimestamp = max(lastTimestamp, frame.timestamp)
                case let .damage(offset, problem):
                    guard isNewest else { throw .corrupt(segment: segment.path, offset: offset, problem: problem) }
                    try cutTornTail(of: segment, at: offset, problem: problem)
                    break scan
                }
            }
            segments.append(segment)
        }
        if segments.isEmpty {
            segments.append(try Segment.create(in: directory, baseSeq: 1, createdMs: options.clock(), faults: options.faults))
        }
        // Records recovered from the page cache after a process crash may never have
        // been fsynced: sync them before anyone is shown them.
        try segments[segments.count - 1].file.sync()
        let lastSeq = segments[segments.count - 1].lastSeq
        return LogState(
            segments: segments, latest: chain.latest, lastSeq: lastSeq, syncedSeq: lastSeq, visibleSeq: lastSeq,
            lastTimestamp: lastTimestamp, lock: lock)
    }

    /// Takes the writer lock. A process being spawned by this one holds a copy of the
    /// lock's descriptor for an instant (between fork and exec), which keeps the lock
    /// taken: such a holder is waited out for up to 200 ms before the open fails.
    private static func takeWriterLock(_ lock: FileHandle, directory: String) throws(LogError) {
        for _ in 0..<20 {
            if try lock.tryLockExclusive() { return }
            usleep(10_000)
        }
        guard try lock.tryLockExclusive() else { throw .locked(path: directory) }
    }

    private func createDirectory() throws(LogError) {
        switch PathKind.of(directory) {
        case .directory: return
        case .file: throw .notALog(path: directory, reason: "is a file, not a data directory")
        case .missing:
            var path = directory.hasPrefix("/") ? "" : "."
            for component in directory.split(separator: "/") {
                path += "/" + component
                if PathKind.of(path) == .directory { continue }
                if mkdir(path, 0o755) != 0, errno != EEXIST { throw .io(path: path, operation: "mkdir", errno: errno) }
            }
        }
    }

    /// Opens one segment and checks its header. A newest segment that is all zeros or
    /// shorter than a header was being created when the process stopped: it holds no
    /// record and gets a fresh header.
    private func openSegment(_ path: String, baseSeq: UInt64, writable: Bool) throws(LogError) -> Segment {
        let file = try FileHandle.open(path, flags: writable ? O_RDWR : O_RDONLY)
        do throws(LogError) {
            _ = try SegmentReader(file: file, path: path, expectedBaseSeq: baseSeq)
        } catch {
            guard writable, try Self.isTornCreation(file) else { throw error }
            options.logger.warning("\(path): rewriting the header of a segment torn while it was created")
            try Segment.writeHeader(to: file, baseSeq: baseSeq, createdMs: options.clock())
        }
        return Segment(baseSeq: baseSeq, path: path, file: file, size: SegmentHeader.size, lastSeq: baseSeq - 1, faults: options.faults)
    }

    private static func isTornCreation(_ file: FileHandle) throws(LogError) -> Bool {
        let size = try file.size()
        if size < SegmentHeader.size { return true }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while offset < size {
            let read = try file.read(into: &buffer, count: buffer.count, at: offset)
            if read == 0 { break }
            if buffer[0..<read].contains(where: { $0 != 0 }) { return false }
            offset += read
        }
        return true
    }

    private func cutTornTail(of segment: Segment, at offset: Int, problem: FrameProblem) throws(LogError) {
        let size = try segment.file.size()
        try segment.file.truncate(to: offset)
        try segment.file.sync()
        options.logger.warning(
            "\(segment.path): cut \(size - offset) bytes of torn tail at byte offset \(offset) (\(problem))")
    }
}
