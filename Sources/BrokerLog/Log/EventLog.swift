public import BrokerStore
import Dispatch
import Glibc
import Logging

/// The segment log of one data directory: appends, the latest index, reads,
/// history and a live feed of appended records. One writer per directory.
public final class EventLog: Sendable {
    public let directory: String
    public let options: LogOptions
    /// How the open went.
    public let openReport: OpenReport
    let state: Locked<LogState>
    /// Sealed bytes the open took from a checkpoint without reading them.
    private let unread: [SegmentSnapshot]
    private let syncQueue = DispatchQueue(label: "broker.log.fsync")
    /// Writes checkpoints in order, off the append path.
    private let checkpointQueue = DispatchQueue(label: "broker.log.checkpoint")
    private let intervalSync: Locked<Task<Void, Never>?> = Locked(nil)

    private init(directory: String, options: LogOptions, opened: LogRecovery.Outcome) {
        self.directory = directory
        self.options = options
        self.openReport = opened.report
        self.unread = opened.unread
        self.state = Locked(opened.state)
        if case .interval(let ms) = options.durability { startIntervalSync(every: ms) }
    }

    deinit {
        intervalSync.withLock { $0?.cancel() }
    }

    /// Opens (creating if needed) the log in `directory`, taking its writer lock and
    /// recovering from a crash (SPEC.md 3.4).
    public static func open(directory: String, options: LogOptions = LogOptions()) throws(LogError) -> EventLog {
        try options.validate()
        let opened = try LogRecovery(directory: directory, options: options).open()
        let log = EventLog(directory: directory, options: options, opened: opened)
        if options.scrubAfterOpen, !opened.unread.isEmpty {
            // Weak: a log closed and dropped before the scrub starts is not kept open.
            DispatchQueue.global(qos: .utility).async { [weak log] in try? log?.scrub() }
        }
        return log
    }

    // MARK: Appending

    /// Appends one record and returns it once durable under the fsync policy.
    public func append(event: String, data: [UInt8]) async throws(LogError) -> Record {
        try await append([AppendEntry(event: event, data: data)])[0]
    }

    /// Appends records with consecutive seqs, all or none, and returns them once all
    /// are durable. Invalid names or sizes, and an expected seq that does not hold,
    /// fail the whole batch before anything is written.
    public func append(_ batch: [AppendEntry]) async throws(LogError) -> [Record] {
        try await append(batch, idempotencyKey: nil).records
    }

    /// Appends a batch atomically (SPEC.md 3.1). With a key seen within the window
    /// for the same request, nothing is appended and the first request's records are
    /// returned, once durable; with a key seen for another request, it fails with
    /// ``LogError/idempotencyKeyReused(key:firstSeq:)``.
    public func append(_ batch: [AppendEntry], idempotencyKey key: IdempotencyKey?) async throws(LogError) -> AppendResult {
        guard !batch.isEmpty else { return AppendResult(records: [], replayed: false) }
        for entry in batch { try Self.check(entry) }
        let outcome = try state.withLock { (state) throws(LogError) in try write(batch, key: key, into: &state) }
        switch outcome {
        case .appended(let records):
            if options.durability == .always { try await waitUntilSynced(records[records.count - 1].seq) }
            return AppendResult(records: records, replayed: false)
        case .replay(let firstSeq, let count):
            if options.durability == .always { try await waitUntilSynced(firstSeq + UInt64(count) - 1) }
            return AppendResult(records: try readRecords(from: firstSeq, count: count), replayed: true)
        }
    }

    /// Checks an entry's name and size (``AppendEntry/check()``) in the log's own errors.
    static func check(_ entry: AppendEntry) throws(LogError) {
        do throws(StoreError) { try entry.check() } catch {
            switch error {
            case .invalidEventName(let why): throw .invalidEventName(why)
            case .recordTooLarge(let bytes, let limit): throw .recordTooLarge(bytes: bytes, limit: limit)
            default: throw .invalidOptions("\(error)")
            }
        }
    }

    private enum WriteOutcome {
        case appended([Record])
        case replay(firstSeq: UInt64, count: Int)
    }

    /// Checks a batch's key and expected seqs, then encodes and writes it with one
    /// write under the lock. A batch never spans segments: when it does not fit in the
    /// active segment, the segment is sealed first (SPEC.md 2.4). Under `interval` and
    /// `never` the records are visible (and published) on return; under `always` they
    /// wait for the next fsync.
    private func write(_ batch: [AppendEntry], key: IdempotencyKey?, into state: inout LogState) throws(LogError) -> WriteOutcome {
        try state.checkWritable()
        guard UInt64(batch.count) <= RecordFrame.maxSeq - state.lastSeq else {
            throw .closed(reason: "the log reached its last seq, \(RecordFrame.maxSeq)")
        }
        let now = options.clock()
        if let key {
            state.keys.expire(now: now)
            switch state.keys.lookup(key) {
            case .replay(let firstSeq, let count): return .replay(firstSeq: firstSeq, count: count)
            case .mismatch(let firstSeq): throw .idempotencyKeyReused(key: key.description, firstSeq: firstSeq)
            case .absent:
                if state.keys.isFull {
                    let retry = (state.keys.oldestTimestamp ?? now) + state.keys.windowMs - now
                    throw .idempotencyKeysFull(capacity: state.keys.capacity, retryAfterMs: max(1, retry))
                }
            }
        }
        let conflicts = batch.enumerated().compactMap { index, entry -> SeqConflict? in
            guard let expected = entry.expectedSeq else { return nil }
            let current = state.latest[entry.event]?.seq ?? 0
            return current == expected ? nil : SeqConflict(index: index, event: entry.event, expectedSeq: expected, currentSeq: current)
        }
        if !conflicts.isEmpty { throw .seqConflict(conflicts) }
        let timestamp = max(now, state.lastTimestamp)
        if state.active.header.version != SegmentHeader.currentVersion, !state.active.isEmpty {
            try rotate(&state, baseSeq: state.lastSeq + 1, lastTimestamp: state.lastTimestamp)  // new frames go in a new-version segment
        }
        var undo = AppendUndo(lastSeq: state.lastSeq, lastTimestamp: state.lastTimestamp)
        var encoded = encode(batch, key: key, timestamp: timestamp, into: &state, undo: &undo)
        if state.needsRotation(bufferedBytes: 0, frameSize: state.writeBuffer.count, segmentBytes: options.segmentBytes) {
            undo.revert(&state)
            undo = AppendUndo(lastSeq: state.lastSeq, lastTimestamp: state.lastTimestamp)
            try rotate(&state, baseSeq: state.lastSeq + 1, lastTimestamp: state.lastTimestamp)
            encoded = encode(batch, key: key, timestamp: timestamp, into: &state, undo: &undo)
        }
        do {
            try flush(pending: encoded.frames, state: &state)
        } catch {
            undo.revert(&state)
            throw error
        }
        state.lastTimestamp = timestamp
        if let key { state.keys.insert(key, firstSeq: encoded.records[0].seq, count: batch.count, timestamp: timestamp) }
        commit(encoded.records[...], into: &state)
        return .appended(encoded.records)
    }

    /// Encodes a batch into the write buffer as frames at the end of the active segment,
    /// updating the latest index (noted in `undo`) and the last seq.
    private func encode(
        _ batch: [AppendEntry], key: IdempotencyKey?, timestamp: Int64, into state: inout LogState, undo: inout AppendUndo
    ) -> (records: [Record], frames: [PendingFrame]) {
        state.writeBuffer.removeAll(keepingCapacity: true)
        var records: [Record] = []
        records.reserveCapacity(batch.count)
        var frames: [PendingFrame] = []
        frames.reserveCapacity(batch.count)
        for (index, entry) in batch.enumerated() {
            let seq = state.lastSeq + 1
            let previous = state.latest[entry.event]
            let bufferOffset = state.writeBuffer.count
            let fields = RecordFrame.Fields(
                seq: seq, timestamp: timestamp, prevSeq: previous?.seq ?? 0, prevOffset: previous?.offset ?? 0,
                continuesBatch: index < batch.count - 1, key: index == 0 ? key : nil)
            _ = RecordFrame.encode(
                fields, event: entry.event, data: entry.data, compress: options.compression, scratch: &state.scratch, into: &state.writeBuffer)
            let offset = state.active.size + bufferOffset
            undo.names.append(
                (entry.event, state.latest.update(entry.event, to: RecordLocation(seq: seq, offset: UInt32(truncatingIfNeeded: offset)))))
            frames.append(PendingFrame(seq: seq, offset: offset, crc: RecordFrame.crcField(of: state.writeBuffer, at: bufferOffset)))
            state.lastSeq = seq
            records.append(Record(seq: seq, timestamp: timestamp, event: entry.event, data: entry.data))
        }
        return (records, frames)
    }

    /// The `count` records from `firstSeq`, read back from the log.
    private func readRecords(from firstSeq: UInt64, count: Int) throws(LogError) -> [Record] {
        let cursor = read(from: firstSeq)
        var records: [Record] = []
        while records.count < count, let record = try cursor.next() { records.append(record) }
        return records
    }

    /// Counts written records and makes them visible now, or after the next fsync
    /// under `always`.
    private func commit(_ records: ArraySlice<Record>, into state: inout LogState) {
        guard !records.isEmpty else { return }
        state.statistics.appends += UInt64(records.count)
        if options.durability == .always {
            state.unsynced.append(contentsOf: records)
        } else {
            state.makeVisible(records)
        }
    }

    /// Writes the write buffer to the active segment with one write and notes its frames.
    private func flush(pending: [PendingFrame], state: inout LogState) throws(LogError) {
        let count = state.writeBuffer.count
        try state.segments[state.segments.count - 1].append(state.writeBuffer, count: count)
        for frame in pending { state.segments[state.segments.count - 1].noteFrame(seq: frame.seq, offset: frame.offset, crc: frame.crc) }
        state.statistics.bytesAppended += UInt64(count)
        state.writeBuffer.removeAll(keepingCapacity: true)
    }

    /// Seals the active segment (fsynced whatever the policy), starts a new one, and
    /// has a checkpoint of the sealed segments written in the background.
    private func rotate(_ state: inout LogState, baseSeq: UInt64, lastTimestamp: Int64) throws(LogError) {
        try state.active.sync()
        state.statistics.fsyncs += 1
        // Everything up to here is in sealed, fsynced segments: a checkpoint may cover it.
        let checkpoint = state.checkpoint(of: state.segments[...], lastTimestamp: lastTimestamp)
        state.segments.append(try Segment.create(in: directory, baseSeq: baseSeq, createdMs: options.clock(), faults: options.faults))
        state.syncedSeq = max(state.syncedSeq, baseSeq - 1)
        checkpointQueue.async { self.save(checkpoint) }
        options.logger.debug("sealed segment, started \(SegmentFileName.name(forBaseSeq: baseSeq))")
    }

    // MARK: Checkpoints and scrub

    /// Writes a checkpoint; a failure costs the next open time, not data, so it is logged.
    private func save(_ checkpoint: Checkpoint) {
        do { try CheckpointFile.write(checkpoint.encoded(), in: directory) } catch {
            options.logger.warning("could not write a checkpoint, the next open will read more of the log: \(error)")
        }
    }

    /// Waits until the checkpoints of segments sealed so far are written.
    func waitForCheckpoints() {
        checkpointQueue.sync {}
    }

    /// Reads and checks every frame the open took from a checkpoint without reading
    /// (SPEC.md 3.4). Damage puts the log in its failed state, as a failed fsync does:
    /// appends are refused with the error, which ``failure`` reports. It also rebuilds
    /// each covered segment's sparse offset index and puts it in place of the
    /// checkpoint's when they differ, since the open only range-checked that one.
    /// It stops early, quietly, once the log is closed.
    public func scrub() throws(LogError) {
        let walker = LogWalker(unread.map { LogWalker<FailOnDamage>.Span($0.reader) }, policy: FailOnDamage(), rebuildOffsets: true)
        var frames = 0
        var position = 0
        do {
            while let item = try walker.next() {
                switch item {
                case .segment:
                    break
                case .frame:
                    frames += 1
                    if frames % 4096 != 0 { continue }
                case .segmentEnd(_, _, _, let offsets):
                    if offsets != unread[position].offsets { replaceOffsets(of: unread[position], with: offsets) }
                    position += 1
                }
                if state.withLock({ $0.isClosed }) { return }
            }
        } catch {
            guard case .corrupt = error else { throw error }
            state.withLock { state in if state.failure == nil { state.failure = error } }
            options.logger.critical("scrub found damage, the log accepts no more appends: \(error)")
            throw error
        }
    }

    /// Puts the sparse index rebuilt from a covered segment's frames in place of the
    /// checkpoint's wrong one; entries past what the checkpoint covered (the active
    /// segment's new frames) are kept.
    private func replaceOffsets(of covered: SegmentSnapshot, with rebuilt: SparseOffsetIndex) {
        state.withLock { state in
            guard let index = state.segments.firstIndex(where: { $0.baseSeq == covered.baseSeq }) else { return }
            var merged = rebuilt
            state.segments[index].offsets.forEach { seq, offset in
                if Int(offset) >= covered.size { merged.note(seq: seq, offset: Int(offset)) }
            }
            state.segments[index].offsets = merged
        }
        options.logger.warning("\(covered.path): the checkpoint's sparse offset index differs from the frames; using the one rebuilt from them")
    }

    /// Why the log accepts no appends (a failed fsync, or damage the scrub found);
    /// nil while it is healthy or after a plain close.
    public var failure: LogError? { state.withLock { $0.failure } }

    // MARK: Group commit

    /// Waits until an fsync covers `seq`, starting one if none is running.
    private func waitUntilSynced(_ seq: UInt64) async throws(LogError) {
        let result: Result<Void, LogError> = await withCheckedContinuation { continuation in
            let startSync = state.withLock { state -> Bool? in
                if let failure = state.failure {
                    continuation.resume(returning: .failure(failure))
                    return nil
                }
                if state.syncedSeq >= seq {
                    // A segment seal covered it: publish before acknowledging.
                    state.publishSynced()
                    continuation.resume(returning: .success(()))
                    return nil
                }
                state.syncWaiters.append((seq, continuation))
                if state.syncInFlight { return false }
                state.syncInFlight = true
                return true
            }
            if startSync == true { syncQueue.async { self.syncLoop() } }
        }
        try result.get()
    }

    /// Runs fsyncs while anything written is not yet synced. Each fsync covers every
    /// byte written before it started, so appenders that arrive while it runs share
    /// the next one (group commit).
    private func syncLoop() {
        while syncOnce(endingGroupCommit: true) {}
    }

    /// fsyncs the active segment if anything written is not yet synced, publishes what
    /// it covers and wakes the appenders waiting for it; false when there was nothing
    /// to do. With `endingGroupCommit`, finding nothing to do ends the running group
    /// commit (under the same lock, so no appender is left waiting). Runs on `syncQueue`.
    private func syncOnce(endingGroupCommit: Bool) -> Bool {
        let job = state.withLock { state -> (Segment, UInt64)? in
            if state.syncedSeq >= state.lastSeq || state.failure != nil {
                if endingGroupCommit { state.syncInFlight = false }
                return nil
            }
            return (state.active, state.lastSeq)
        }
        guard let (segment, target) = job else { return false }
        var failure: LogError?
        do { try segment.sync() } catch { failure = error }
        let ready = state.withLock { state in state.finishSync(upTo: target, failure: failure) }
        for waiter in ready.waiters { waiter.resume(returning: ready.result) }
        if let failure { options.logger.error("fsync failed, the log accepts no more appends: \(failure)") }
        return true
    }

    private func startIntervalSync(every milliseconds: Int) {
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(milliseconds))
                guard let self else { return }
                self.syncQueue.async { _ = self.syncOnce(endingGroupCommit: false) }
            }
        }
        intervalSync.withLock { $0 = task }
    }

    // MARK: Live feed

    /// Starts a feed of every record made visible from now on, in seq order. Records
    /// with seq up to the subscription's `startSeq` are in the log already: read them
    /// with ``read(from:)`` or ``latest(upTo:where:)`` for a gapless hand-over.
    public func subscribe() -> StoreSubscription {
        state.withLock { state in state.feed.subscribe(startSeq: state.visibleSeq) }
    }

    // MARK: State

    /// The highest seq visible to readers and subscribers (0 for an empty log).
    public var lastSeq: UInt64 { state.withLock { $0.visibleSeq } }

    /// Counters since open.
    public var statistics: StoreStatistics {
        state.withLock { state in
            var stats = state.statistics
            stats.segments = state.segments.count
            stats.eventNames = state.latest.count
            stats.indexBytes = state.latest.memoryBytes
            stats.lastSeq = state.visibleSeq
            return stats
        }
    }

    /// Stops appends, fsyncs what was written, ends every subscription and releases
    /// the writer lock. Later appends fail with ``LogError/closed(reason:)``.
    public func close() async {
        intervalSync.withLock {
            $0?.cancel()
            $0 = nil
        }
        // On the fsync queue, so that a running group commit finishes first.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            syncQueue.async {
                self.closeNow()
                done.resume()
            }
        }
    }

    private func closeNow() {
        let (segment, target) = state.withLock { state in
            state.isClosed = true
            return (state.active, state.lastSeq)
        }
        var failure: LogError?
        do { try segment.sync() } catch { failure = error }
        let (ready, checkpoint) = state.withLock { state in
            let ready = state.finishSync(upTo: target, failure: failure)
            // Only a log whose every write reached the disk gets a checkpoint of all of it.
            let whole = state.failure == nil ? state.checkpoint(of: state.segments[...], lastTimestamp: state.lastTimestamp) : nil
            return (ready, whole)
        }
        for waiter in ready.waiters { waiter.resume(returning: ready.result) }
        if let checkpoint { checkpointQueue.sync { self.save(checkpoint) } } else { checkpointQueue.sync {} }
        let feed = state.withLock { state in
            state.lock = nil
            return state.feed
        }
        feed.finish()
    }
}

/// A frame written by an append, to note in its segment once the write succeeds.
private struct PendingFrame {
    var seq: UInt64
    var offset: Int
    var crc: UInt32
}

/// What an append changed before a write failed, to put back.
private struct AppendUndo {
    var lastSeq: UInt64
    var lastTimestamp: Int64
    var names: [(String, RecordLocation?)] = []

    func revert(_ state: inout LogState) {
        for (name, location) in names.reversed() { state.latest.restore(name, to: location) }
        state.lastSeq = lastSeq
        state.lastTimestamp = lastTimestamp
        state.writeBuffer.removeAll(keepingCapacity: true)
    }
}
