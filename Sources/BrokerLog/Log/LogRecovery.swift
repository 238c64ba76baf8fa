import Glibc

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
        if let bad = listed.first(where: { $0.problem != nil }), let problem = bad.problem {
            throw .corrupt(segment: bad.path, offset: 0, problem: problem)
        }
        var report = OpenReport()
        var adopted: AdoptedCheckpoint?
        if options.useCheckpoint {
            do throws(CheckpointProblem) {
                adopted = try Checkpoint.adopt(in: directory, listed: listed, faults: options.faults)
            } catch {
                options.logger.warning("\(CheckpointFile.path(in: directory)): ignored, reading every segment: \(error)")
                report.ignoredCheckpoint = error.description
            }
        }
        report.checkpointSeq = adopted?.segments.last?.lastSeq
        var keys = IdempotencyTable(windowMs: options.idempotencyWindowMs, capacity: options.idempotencyMaxKeys)
        adopted?.keys.forEach { keys.insert($0) }
        var scan = Scan(
            segments: adopted?.segments ?? [],
            lastTimestamp: adopted?.lastTimestamp ?? 0,
            chain: adopted?.chain ?? NameChain(firstBaseSeq: listed.first?.baseSeq ?? 1),
            keys: keys)
        let unread = scan.segments.map(SegmentSnapshot.init)
        report.scannedBytes = try scan.walk(listed, recovery: self)
        if scan.segments.isEmpty {
            scan.segments.append(try Segment.create(in: directory, baseSeq: 1, createdMs: options.clock(), faults: options.faults))
        } else if let newest = scan.segments.last, newest.isEmpty, newest.header.version != SegmentHeader.currentVersion {
            // An empty segment of an older version gets the current header, for the frames to come.
            let header = try Segment.writeHeader(to: newest.file, baseSeq: newest.baseSeq, createdMs: options.clock())
            scan.segments[scan.segments.count - 1] = Segment(header: header, path: newest.path, file: newest.file, faults: options.faults)
        }
        if scan.keys.count > 0 { scan.keys.expire(now: options.clock()) }
        // Records recovered from the page cache after a process crash may never have
        // been fsynced: sync them before anyone is shown them.
        try scan.segments[scan.segments.count - 1].file.sync()
        let lastSeq = scan.segments[scan.segments.count - 1].lastSeq
        let state = LogState(
            segments: scan.segments, latest: scan.chain.latest, keys: scan.keys, lastSeq: lastSeq, syncedSeq: lastSeq, visibleSeq: lastSeq,
            lastTimestamp: scan.lastTimestamp, lock: lock)
        return Outcome(state: state, report: report, unread: unread)
    }

    /// What recovery makes of damage: a torn tail of the newest segment is noted, to
    /// be cut once the walk has found everything else sound; anything else stops the
    /// open with the damage, before any file is changed.
    struct Policy: DamagePolicy {
        var tornTail: Damage?

        mutating func handle(_ damage: Damage) throws(LogError) -> DamageAction {
            guard case .incompleteTail = damage.kind else { throw LogError(damage) }
            tornTail = damage
            return .skip
        }
    }

    /// The segments read so far, with the index and chain check they built.
    struct Scan {
        var segments: [Segment]
        var lastTimestamp: Int64
        var chain: NameChain
        var keys: IdempotencyTable
        private var batchKeys = IdempotencyTable.BatchKeys()

        init(segments: [Segment], lastTimestamp: Int64, chain: NameChain, keys: IdempotencyTable) {
            self.segments = segments
            self.lastTimestamp = lastTimestamp
            self.chain = chain
            self.keys = keys
        }

        /// Walks what a checkpoint did not cover (everything without one): the rest of
        /// its last segment and every later segment. Returns the bytes read.
        mutating func walk(_ listed: [SegmentFileName.Listed], recovery: LogRecovery) throws(LogError) -> Int {
            let covered = segments.count
            var spans: [LogWalker<Policy>.Span] = []
            for (position, entry) in listed.enumerated() where position >= max(0, covered - 1) {
                var span = LogWalker<Policy>.Span(path: entry.path, nameSeq: entry.baseSeq)
                if position < covered {
                    let segment = segments[position]
                    // Past what the checkpoint covers, to the end of the file.
                    span = .init(segment.reader, from: segment.size, expectedSeq: segment.lastSeq + 1, limit: try segment.file.size())
                }
                span.isNewest = position == listed.count - 1
                spans.append(span)
            }
            let walker = LogWalker(spans, policy: Policy(), chain: chain)
            var scanned = 0
            while let item = try walker.next() {
                switch item {
                case .segment(let reader, let isNewest):
                    if segments.last?.path != reader.path {
                        segments.append(try recovery.adoptWalked(reader, writable: isNewest))
                    }
                case .frame(let frame, let offset, _):
                    segments[segments.count - 1].noteFrame(seq: frame.seq, offset: offset, crc: frame.crc)
                    lastTimestamp = max(lastTimestamp, frame.timestamp)
                    if let entry = batchKeys.note(frame) { keys.insert(entry) }
                case .segmentEnd(_, let validEnd, _, _):
                    scanned += validEnd - segments[segments.count - 1].size
                    segments[segments.count - 1].size = validEnd
                }
            }
            // The walk stops the open at any damage but a torn tail, and a torn tail
            // leaves the walked chain whole: it is the index of everything walked.
            guard let walked = walker.chain else {
                // Unreachable while the above holds; refusing the open beats serving an index without the walked records.
                throw .notALog(
                    path: recovery.directory, reason: "the open lost the name chain of the records it walked; not opening with an incomplete index")
            }
            chain = walked
            if let torn = walker.policy.tornTail { try repair(torn, listed: listed, recovery: recovery) }
            return scanned
        }

        /// Cuts a torn tail, or gives a segment torn while it was created a fresh header.
        private mutating func repair(_ torn: Damage, listed: [SegmentFileName.Listed], recovery: LogRecovery) throws(LogError) {
            if let newest = segments.last, newest.path == torn.segment {
                try recovery.cut(newest, at: torn.offset, damage: torn)
                return
            }
            guard let entry = listed.last, entry.path == torn.segment else { throw LogError(torn) }
            if let previous = segments.last, entry.baseSeq != previous.lastSeq + 1 {
                throw .discontinuity(segment: entry.path, expectedBaseSeq: previous.lastSeq + 1, foundBaseSeq: entry.baseSeq)
            }
            segments.append(try recovery.rewriteTornCreation(entry))
        }
    }

    /// A segment the walk found sound, opened for the log (for writing when it is the newest).
    fileprivate func adoptWalked(_ reader: SegmentReader, writable: Bool) throws(LogError) -> Segment {
        // The recovery walk reads the directory's files, so a sealed segment keeps the
        // handle it was read with.
        let file: FileHandle =
            if !writable, let opened = reader.file as? FileHandle { opened } else {
                try FileHandle.open(reader.path, flags: writable ? O_RDWR : O_RDONLY)
            }
        return Segment(header: reader.header, path: reader.path, file: file, faults: options.faults)
    }

    fileprivate func rewriteTornCreation(_ entry: SegmentFileName.Listed) throws(LogError) -> Segment {
        options.logger.warning("\(entry.path): rewriting the header of a segment torn while it was created")
        let file = try FileHandle.open(entry.path, flags: O_RDWR)
        let header = try Segment.writeHeader(to: file, baseSeq: entry.baseSeq, createdMs: options.clock())
        return Segment(header: header, path: entry.path, file: file, faults: options.faults)
    }

    fileprivate func cut(_ segment: Segment, at offset: Int, damage: Damage) throws(LogError) {
        let size = try segment.file.size()
        try segment.file.truncate(to: offset)
        try segment.file.sync()
        options.logger.warning("\(segment.path): cut \(size - offset) bytes of torn tail at byte offset \(offset) (\(damage.problem))")
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
        case .file, .other: throw .notALog(path: directory, reason: "is a file, not a data directory")
        case .missing:
            var path = directory.hasPrefix("/") ? "" : "."
            for component in directory.split(separator: "/") {
                path += "/" + component
                if PathKind.of(path) == .directory { continue }
                if mkdir(path, 0o755) != 0, errno != EEXIST { throw .io(path: path, operation: "mkdir", errno: errno) }
            }
        }
    }

}
