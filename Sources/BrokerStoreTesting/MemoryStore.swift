public import BrokerStore

/// An ``EventStore`` in memory: the test double for what is built on the store
/// vocabulary (the HTTP routes, the hub), as NIOEmbedded is for channels. It keeps the
/// contract every store keeps (``EventStore``; the contract suite runs over it too):
/// batches all or none, expected seqs, idempotency keys (remembered while it lives),
/// the latest index as of any seq, history, and a gapless hand-over to the live feed.
///
/// Switches let a test make appends fail (``failAppends(with:)``) or wait
/// (``holdAppends()``, ``releaseAppends()``), and stamp records with its own clock.
public final class MemoryStore: EventStore {
    private struct State {
        var records: [Record] = []
        /// Each name's records, as indexes into `records`, oldest first.
        var names: [String: [Int]] = [:]
        var keys: [[UInt8]: (digest: UInt64, firstSeq: UInt64, count: Int)] = [:]
        var statistics = StoreStatistics()
        var failure: StoreError?
        var held: [CheckedContinuation<Void, Never>]?
        var isClosed = false
        var lastSeq: UInt64 { records.last?.seq ?? 0 }
    }

    private let state = Locked(State())
    /// Fed under `state`'s lock, in seq order.
    private let feed = LiveFeed()
    private let clock: @Sendable () -> Int64

    /// A store stamping records with `clock` (milliseconds since the epoch).
    public init(clock: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        self.clock = clock
    }

    // MARK: Switches

    /// Makes every append fail with `error` (and health report it) until called with nil.
    public func failAppends(with error: StoreError?) {
        state.withLock { $0.failure = error }
    }

    /// Makes appends wait, before anything is stored, until ``releaseAppends()``.
    public func holdAppends() {
        state.withLock { state in if state.held == nil { state.held = [] } }
    }

    /// Lets held appends go on, in the order they came.
    public func releaseAppends() {
        let waiting = state.withLock { state in
            defer { state.held = nil }
            return state.held ?? []
        }
        for appender in waiting { appender.resume() }
    }

    /// How many appends wait for ``releaseAppends()``.
    public var heldAppends: Int { state.withLock { $0.held?.count ?? 0 } }

    // MARK: EventStore

    public var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    public func append(_ batch: [AppendEntry], idempotencyKey key: IdempotencyKey?) async throws(StoreError) -> AppendResult {
        for entry in batch { try entry.check() }
        await withCheckedContinuation { (appender: CheckedContinuation<Void, Never>) in
            let isHeld = state.withLock { state in
                guard state.held != nil else { return false }
                state.held!.append(appender)
                return true
            }
            if !isHeld { appender.resume() }
        }
        let now = clock()
        let outcome = state.withLock { (state) -> Result<AppendResult, StoreError> in
            if state.isClosed { return .failure(.unavailable("the store is closed")) }
            if let failure = state.failure { return .failure(failure) }
            if let key, let known = state.keys[key.bytes] {
                guard known.digest == key.requestDigest else {
                    return .failure(.idempotencyKeyReused(key: key.description, firstSeq: known.firstSeq))
                }
                let first = Int(known.firstSeq - 1)
                return .success(AppendResult(records: Array(state.records[first..<(first + known.count)]), replayed: true))
            }
            let conflicts = batch.enumerated().compactMap { index, entry -> SeqConflict? in
                guard let expected = entry.expectedSeq else { return nil }
                let current = state.names[entry.event]?.last.map { state.records[$0].seq } ?? 0
                return current == expected ? nil : SeqConflict(index: index, event: entry.event, expectedSeq: expected, currentSeq: current)
            }
            if !conflicts.isEmpty { return .failure(.seqConflict(conflicts)) }
            guard !batch.isEmpty else { return .success(AppendResult(records: [], replayed: false)) }
            let timestamp = max(now, state.records.last?.timestamp ?? now)
            var appended: [Record] = []
            for entry in batch {
                let record = Record(seq: state.lastSeq + 1, timestamp: timestamp, event: entry.event, data: entry.data)
                state.names[entry.event, default: []].append(state.records.count)
                state.records.append(record)
                appended.append(record)
                state.statistics.bytesAppended += UInt64(entry.data.count)
            }
            state.statistics.appends += UInt64(batch.count)
            if let key { state.keys[key.bytes] = (key.requestDigest, appended[0].seq, appended.count) }
            feed.publish(appended)
            return .success(AppendResult(records: appended, replayed: false))
        }
        return try outcome.get()
    }

    /// Everything appended is visible at once: a seq past the last is past the end.
    public func catchUp(to seq: UInt64) -> Bool { seq <= lastSeq }

    public func subscribe() -> StoreSubscription {
        state.withLock { state in feed.subscribe(startSeq: state.lastSeq) }
    }

    public func latest(of event: String, upTo: UInt64) -> Record? {
        state.withLock { state in
            state.names[event]?.last { state.records[$0].seq <= upTo }.map { state.records[$0] }
        }
    }

    public func latest(upTo: UInt64, where include: (String) -> Bool) -> [Record] {
        let (names, records) = state.withLock { ($0.names, $0.records) }
        return names.compactMap { name, indexes -> Record? in
            guard include(name) else { return nil }
            return indexes.last { records[$0].seq <= upTo }.map { records[$0] }
        }.sorted { $0.seq < $1.seq }
    }

    public func records(from first: UInt64, through last: UInt64, limit: Int) -> [Record] {
        state.withLock { state in
            guard first <= state.lastSeq, first <= last else { return [] }
            let start = Int(max(first, 1) - 1)
            let end = Int(min(last, state.lastSeq))
            return Array(state.records[start..<min(end, start + limit)])
        }
    }

    public func history(of event: String, since: Int64?, until: Int64?, after: UInt64?, limit: Int?) -> [Record]? {
        state.withLock { state in
            guard let indexes = state.names[event] else { return nil }
            let matching = indexes.map { state.records[$0] }.filter { record in
                (after.map { record.seq > $0 } ?? true) && (since.map { record.timestamp >= $0 } ?? true)
                    && (until.map { record.timestamp <= $0 } ?? true)
            }
            return Array(matching.prefix(limit ?? .max))
        }
    }

    public func lastSeq(atOrBefore timestamp: Int64) -> UInt64 {
        state.withLock { state in state.records.last { $0.timestamp <= timestamp }?.seq ?? 0 }
    }

    public var health: StoreHealth { StoreHealth(failure: state.withLock { $0.failure?.description }) }

    public var statistics: StoreStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.eventNames = state.names.count
            statistics.lastSeq = state.lastSeq
            return statistics
        }
    }

    public var summary: String { "records in memory" }

    public func close() async {
        state.withLock { $0.isClosed = true }
        releaseAppends()
        feed.finish()
    }
}
