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

    /// What an open found, besides the state.
    struct Outcome {
        var state: LogState
        var report: OpenReport
        /// The sealed bytes a checkpoint let the open skip, for ``EventLog/scrub()``.
        var unread: [SegmentSnapshot]
    }

    func open() throws(LogError) -> Outcome {
        try createDirectory()
        let lock = try FileHandle.open(directory + "/LOCK", flags: O_RDWR | O_CREAT)
        try Self.takeWriterLock(lock, directory: directory)

        let listed = try SegmentFileName.list(in: directory)
        var scan = Scan(firstBaseSeq: listed.first?.baseSeq ?? 1)
        var report = OpenReport()
        var unread: [SegmentSnapshot] = []
        if options.useCheckpoint {
            do throws(CheckpointProblem) {
                if let adopted = try adoptCheckpoint(listed) {
                    scan = adopted
                    unread = adopted.segments.map(SegmentSnapshot.init)
                    report.checkpointSeq = adopted.segments.last?.lastSeq
                }
            } catch {
                options.logger.warning("\(CheckpointFile.path(in: directory)): ignored, reading every segment: \(error)")
                report.ignoredCheckpoint = error.description
            }
        }
        let resumeAt = scan.segments.count
        for (position, entry) in listed.enumerated().dropFirst(max(0, resumeAt - 1)) {
            let isNewest = position == listed.count - 1
            if position < resumeAt {
                // The checkpoint's last segment: go on past what it covers.
                report.scannedBytes += try scan.continueSegment(at: position, isNewest: isNewest, recovery: self)
            } else {
                let segment = try openSegment(entry.path, baseSeq: entry.baseSeq, writable: isNewest)
                report.scannedBytes += try scan.add(segment, isNewest: isNewest, recovery: self)
            }
        }
        if scan.segments.isEmpty {
            scan.segments.append(try Segment.create(in: directory, baseSeq: 1, createdMs: options.clock(), faults: options.faults))
        }
        // Records recovered from the page cache after a process crash may never have
        // been fsynced: sync them before anyone is shown them.
        try scan.segments[scan.segments.count - 1].file.sync()
        let lastSeq = scan.segments[scan.segments.count - 1].lastSeq
        let state = LogState(
            segments: scan.segments, latest: scan.chain.latest, lastSeq: lastSeq, syncedSeq: lastSeq, visibleSeq: lastSeq,
            lastTimestamp: scan.lastTimestamp, lock: lock)
        return Outcome(state: state, report: report, unread: unread)
    }

    /// The segments read so far, with the index and chain check they built.
    struct Scan {
        var segments: [Segment] = []
        var chain: NameChain
        var lastTimestamp: Int64 = 0

        init(firstBaseSeq: UInt64) { chain = NameChain(firstBaseSeq: firstBaseSeq) }

        /// Checks that `segment` continues the ones before it and reads all of it.
        mutating func add(_ segment: Segment, isNewest: Bool, recovery: LogRecovery) throws(LogError) -> Int {
            if let previous = segments.last, segment.baseSeq != previous.lastSeq + 1 {
                throw .discontinuity(segment: segment.path, expectedBaseSeq: previous.lastSeq + 1, foundBaseSeq: segment.baseSeq)
            }
            segments.append(segment)
            return try continueSegment(at: segments.count - 1, isNewest: isNewest, recovery: recovery)
        }

        /// Reads segment `index` from its current size to the end of its file, noting
        /// each frame; a damaged tail is cut when the segment is the newest. Returns
        /// the bytes read.
        mutating func continueSegment(at index: Int, isNewest: Bool, recovery: LogRecovery) throws(LogError) -> Int {
            var segment = segments[index]
            let start = segment.size
            let reader = FrameReader(file: segment.file, from: start, limit: try segment.file.size(), expectedSeq: segment.lastSeq + 1)
            scan: while let item = try reader.next() {
                switch item {
                case let .frame(frame, offset):
                    if let problem = chain.note(frame, at: offset) {
                        throw .corrupt(segment: segment.path, offset: offset, problem: problem)
                    }
                    segment.noteFrame(seq: frame.seq, offset: offset, crc: frame.crc)
                    segment.size = offset + frame.frameSize
                    lastTimestamp = max(lastTimestamp, frame.timestamp)
                case let .damage(offset, problem):
                    guard isNewest else { throw .corrupt(segment: segment.path, offset: offset, problem: problem) }
                    try recovery.cutTornTail(of: segment, at: offset, problem: problem)
                    break scan
                }
            }
            segments[index] = segment
            return reader.offset - start
        }
    }

    // MARK: Checkpoint

    /// The segments, index and chain a valid checkpoint covers, checked against the
    /// directory as SPEC.md 2.6 says; nil when there is no checkpoint.
    private func adoptCheckpoint(_ listed: [(baseSeq: UInt64, path: String)]) throws(CheckpointProblem) -> Scan? {
        guard let bytes = try Self.problem({ () throws(LogError) in try CheckpointFile.read(in: directory) }) else { return nil }
        let checkpoint = try Checkpoint.decode(bytes)
        if let mismatch = checkpoint.tableMismatch(with: listed) { throw mismatch }
        var scan = Scan(firstBaseSeq: listed[0].baseSeq)
        for (position, entry) in checkpoint.segments.enumerated() {
            let isLast = position == checkpoint.segments.count - 1
            scan.segments.append(try adopt(entry, path: listed[position].path, isLastCovered: isLast, isNewest: position == listed.count - 1))
        }
        scan.chain = NameChain(firstBaseSeq: listed[0].baseSeq, latest: checkpoint.latest)
        scan.lastTimestamp = checkpoint.lastTimestamp
        return scan
    }

    /// One covered segment (its name already matched), opened and checked: its header,
    /// size and last frame.
    private func adopt(_ entry: Checkpoint.SegmentEntry, path: String, isLastCovered: Bool, isNewest: Bool) throws(CheckpointProblem) -> Segment {
        var segment = try Self.problem { () throws(LogError) in try openSegment(path, baseSeq: entry.baseSeq, writable: isNewest) }
        let mismatch = try Self.problem { () throws(LogError) in try entry.mismatch(with: segment.file, isLastCovered: isLastCovered) }
        if let mismatch { throw mismatch }
        segment.adopt(entry)
        return segment
    }

    /// Runs `body`, turning a log error into a reason to ignore the checkpoint.
    static func problem<T>(_ body: () throws(LogError) -> T) throws(CheckpointProblem) -> T {
        do { return try body() } catch { throw CheckpointProblem("\(error)") }
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

    fileprivate func cutTornTail(of segment: Segment, at offset: Int, problem: FrameProblem) throws(LogError) {
        let size = try segment.file.size()
        try segment.file.truncate(to: offset)
        try segment.file.sync()
        options.logger.warning(
            "\(segment.path): cut \(size - offset) bytes of torn tail at byte offset \(offset) (\(problem))")
    }
}
