public import BrokerNATS
public import BrokerStore
public import Logging

/// The event store of a front (`serve --nats`, SPEC.md 7): records live in a
/// replicated JetStream stream, one message per record, the stream's seq as Broker's
/// seq. The front appends by publishing and waiting for the stream's
/// acknowledgement, and reads from its ``FrontIndex``, kept current by one ordered
/// consumer, asking the stream (a direct get by seq) for whatever the index does not
/// hold. Nothing is on the front's disk: any number of fronts serve one stream.
public final class JetStreamStore: EventStore {
    public struct Options: Sendable {
        public var servers: [NATSServerAddress]
        public var stream = "BROKER"
        /// Replicas of a stream this front creates.
        public var replicas = 3
        /// How long JetStream remembers a `Nats-Msg-Id` (an Idempotency-Key).
        public var duplicateWindow: Duration = .seconds(120)
        /// The ordered consumer's idle heartbeat; three missed ones replace it.
        public var heartbeat: Duration = .milliseconds(500)
        /// How long opening waits for NATS, the stream and the index build; nil waits
        /// for as long as it takes (`--nats-wait 0`).
        public var startTimeout: Duration? = .seconds(120)
        /// The most bytes of recent records the front keeps.
        public var recentBytes = 64 << 20
        public var logger = Logger(label: "broker.jetstream")

        public init(servers: [NATSServerAddress]) { self.servers = servers }
    }

    private struct State {
        var index: FrontIndex
        /// Fed under this state's lock, so that subscribers get records in seq order.
        let feed = LiveFeed()
        var nextID: UInt64 = 0
        var waiters: [UInt64: AppliedWaiter] = [:]
        var statistics = StoreStatistics()
        var stream = StreamHealth()
        var isClosed = false

        /// Removes and returns the waiters that `isAnswered` picks.
        mutating func takeWaiters(where isAnswered: (AppliedWaiter) -> Bool) -> [AppliedWaiter] {
            let ids = waiters.compactMap { isAnswered($0.value) ? $0.key : nil }
            return ids.compactMap { waiters.removeValue(forKey: $0) }
        }
    }

    /// A caller of ``waitUntilApplied(_:timeout:)``: answered true once the index has
    /// `seq`, false at `deadline` (the sweep) or on close.
    struct AppliedWaiter {
        let seq: UInt64
        let deadline: ContinuousClock.Instant
        let waiter: CheckedContinuation<Bool, Never>
    }

    /// How often waiters past their deadline are answered: one sweep for all, not a
    /// timer per insert.
    static let waiterSweep = Duration.milliseconds(50)

    /// What the last look at the stream found, for `/healthz`.
    struct StreamHealth {
        var leader: String?
        var replicas = 0
        var currentReplicas = 0
        var error: String?
    }

    public let options: Options
    let client: NATSClient
    let jetStream: JetStream
    let subjects: SubjectName
    private let state: Locked<State>
    /// The one live consumer, from the stream's first seq; made by `start()`.
    private let consumer = Locked<OrderedConsumer?>(nil)
    private let tasks = Locked<[Task<Void, Never>]>([])
    private var logger: Logger { options.logger }

    /// How long an append waits for its records to reach this front's index before
    /// answering anyway (they are acknowledged by then).
    static let applyWait: Duration = .seconds(1)

    private init(options: Options, client: NATSClient, jetStream: JetStream) {
        self.options = options
        self.client = client
        self.jetStream = jetStream
        self.subjects = SubjectName(prefix: options.stream)
        self.state = Locked(State(index: FrontIndex(recentLimit: options.recentBytes)))
    }

    /// Connects, creates or checks the stream (SPEC.md 7.1), and builds the index
    /// from the whole stream before returning. While NATS cannot be reached or its
    /// cluster is still forming it waits, with backoff, up to `startTimeout`, telling
    /// `onWait` what it waits for each time that changes (SPEC.md 7.3).
    public static func open(_ options: Options, onWait: @escaping @Sendable (String) -> Void = { _ in }) async throws(JetStreamError)
        -> JetStreamStore
    {
        let client = NATSClient(options: .init(servers: options.servers, name: "broker"), logger: options.logger)
        client.start()
        let deadline = options.startTimeout.map { ContinuousClock.now + $0 }
        let addresses = options.servers.map(\.description).joined(separator: ", ")
        onWait("connecting to NATS at \(addresses)")
        while !(await client.waitUntilConnected(timeout: .seconds(1))) {
            if Task.isCancelled || deadline.map({ ContinuousClock.now >= $0 }) == true {
                await client.close()
                throw .unavailable("no NATS server answered at \(addresses) in \(options.startTimeout ?? .zero)")
            }
        }
        onWait("waiting for the JetStream stream \(options.stream)")
        let jetStream = JetStream(client: client)
        let info: StreamInfo
        do {
            info = try await StreamSetup(jetStream: jetStream, options: options).ensure(until: deadline, onWait: onWait)
        } catch {
            await client.close()
            throw error
        }
        onWait("indexing the stream's \(info.state.lastSeq) records")
        let store = JetStreamStore(options: options, client: client, jetStream: jetStream)
        store.start()
        // In slices of a second, so that a stop signal is not kept waiting.
        var applied = false
        while !applied, !Task.isCancelled, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            applied = await store.waitUntilApplied(info.state.lastSeq, timeout: .seconds(1))
        }
        guard applied else {
            await store.close()
            throw .unavailable("the index reached seq \(store.lastSeq) of \(info.state.lastSeq) in \(options.startTimeout ?? .zero)")
        }
        options.logger.info("JetStream stream \(options.stream): \(info.state.lastSeq) records indexed")
        return store
    }

    private func start() {
        // Each record is applied on the event loop it arrives on: no task switch
        // between the stream and the index.
        let consumer = OrderedConsumer(
            jetStream: jetStream, stream: options.stream, startSeq: 1, heartbeat: options.heartbeat, logger: options.logger,
            onDelivery: { [weak self] delivery in self?.apply(delivery.message) })
        self.consumer.withLock { $0 = consumer }
        consumer.start()
        let watching = Task {
            while !Task.isCancelled {
                await self.checkStream()
                try? await Task.sleep(for: .seconds(1))
            }
        }
        let sweeping = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.waiterSweep)
                self.expireWaiters(at: .now)
            }
        }
        tasks.withLock { $0 = [watching, sweeping] }
    }

    // MARK: The live feed

    private func apply(_ message: JetStream.StoredMessage) {
        let name = subjects.event(of: message)
        let (gap, ready) = state.withLock { state -> (Bool, [AppliedWaiter]) in
            let gap = message.seq != state.index.lastSeq + 1
            let record = state.index.apply(seq: message.seq, timeNanoseconds: message.timeNanoseconds, name: name, data: message.payload)
            if let record { state.feed.publish(record) }
            guard !state.waiters.isEmpty else { return (gap, []) }
            return (gap, state.takeWaiters { $0.seq <= message.seq })
        }
        for entry in ready { entry.waiter.resume(returning: true) }
        if gap { logger.error("the stream skipped to seq \(message.seq): messages were removed from it outside Broker") }
        if name == nil {
            logger.warning("seq \(message.seq) on \(message.subject) is not a Broker record (skipped)")
        }
    }

    public func subscribe() -> StoreSubscription {
        state.withLock { state in state.feed.subscribe(startSeq: state.index.lastSeq) }
    }

    /// Waits until the index has applied `seq`; false after `timeout` (to within
    /// ``waiterSweep``) or on close.
    func waitUntilApplied(_ seq: UInt64, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        return await withCheckedContinuation { waiter in
            let applied = state.withLock { state -> Bool? in
                if state.index.lastSeq >= seq { return true }
                if state.isClosed { return false }
                state.nextID += 1
                state.waiters[state.nextID] = AppliedWaiter(seq: seq, deadline: deadline, waiter: waiter)
                return nil
            }
            if let applied { waiter.resume(returning: applied) }
        }
    }

    private func expireWaiters(at now: ContinuousClock.Instant) {
        let expired = state.withLock { $0.takeWaiters { $0.deadline <= now } }
        for entry in expired { entry.waiter.resume(returning: false) }
    }

    // MARK: Appending

    public func append(_ batch: [AppendEntry], idempotencyKey key: IdempotencyKey?) async throws(StoreError) -> AppendResult {
        guard !batch.isEmpty else { return AppendResult(records: [], replayed: false) }
        for entry in batch { try entry.check() }
        try state.withLock { (state) throws(StoreError) in
            if state.isClosed { throw .unavailable("the front is shutting down") }
            // What this front has seen; the stream checks each record again as it stores it.
            let conflicts = batch.enumerated().compactMap { index, entry -> SeqConflict? in
                guard let expected = entry.expectedSeq else { return nil }
                let current = state.index.names[entry.event]?.latest.seq ?? 0
                return current <= expected ? nil : SeqConflict(index: index, event: entry.event, expectedSeq: expected, currentSeq: current)
            }
            if !conflicts.isEmpty { throw .seqConflict(conflicts) }
        }
        guard client.isConnected else { throw .unavailable("not connected to NATS") }
        var acks: [JetStream.PublishAck] = []
        for (index, entry) in batch.enumerated() {
            do {
                acks.append(
                    try await jetStream.publish(
                        subjects.subject(for: entry.event), headers: Self.headers(entry, index: index, key: key), payload: entry.data))
            } catch {
                throw Self.failure(error, entry: entry, index: index, stored: acks)
            }
        }
        _ = await waitUntilApplied(acks.map(\.seq).max()!, timeout: Self.applyWait)
        var records: [Record] = []
        var appended = StoreStatistics()
        for (ack, entry) in zip(acks, batch) {
            if ack.duplicate == true, let key {
                records.append(try await storedRecord(ack.seq, key: key))
            } else {
                let timestamp = state.withLock { $0.index.timestamp(of: ack.seq) } ?? WallClock.milliseconds()
                records.append(Record(seq: ack.seq, timestamp: timestamp, event: entry.event, data: entry.data))
                appended.appends += 1
                appended.bytesAppended += UInt64(entry.data.count)
            }
        }
        state.withLock { state in
            state.statistics.appends += appended.appends
            state.statistics.bytesAppended += appended.bytesAppended
        }
        return AppendResult(records: records, replayed: appended.appends == 0)
    }

    /// A record's headers (SPEC.md 7.2): its idempotency id and the request's digest,
    /// and its expected seq.
    static func headers(_ entry: AppendEntry, index: Int, key: IdempotencyKey?) -> NATSHeaders? {
        guard key != nil || entry.expectedSeq != nil else { return nil }
        var headers = NATSHeaders()
        if let key {
            headers.add("Nats-Msg-Id", "\(index):\(key.description)")
            headers.add(requestDigestHeader, String(key.requestDigest, radix: 16))
        }
        if let expected = entry.expectedSeq { headers.add("Nats-Expected-Last-Subject-Sequence", String(expected)) }
        return headers
    }

    static let requestDigestHeader = "Broker-Request-Digest"

    /// The record a duplicate `Nats-Msg-Id` points at, if the same request stored it.
    private func storedRecord(_ seq: UInt64, key: IdempotencyKey) async throws(StoreError) -> Record {
        guard let message = try await storedMessage(seq) else { throw .unavailable("seq \(seq) could not be read from the stream") }
        guard message.headers?[Self.requestDigestHeader] == String(key.requestDigest, radix: 16) else {
            throw .idempotencyKeyReused(key: key.description, firstSeq: seq)
        }
        guard let record = record(from: message) else { throw .unavailable("seq \(seq) is not a Broker record") }
        return record
    }

    /// What a failed publish means for the insert: a seq conflict when the stream
    /// refused the expected seq, else unavailable, saying what of the batch is stored.
    static func failure(_ error: NATSError, entry: AppendEntry, index: Int, stored: [JetStream.PublishAck]) -> StoreError {
        if case .jetStream(_, 10071, let description) = error, let expected = entry.expectedSeq {
            let current = description.split(separator: " ").last.flatMap { UInt64($0) } ?? 0
            return .seqConflict([SeqConflict(index: index, event: entry.event, expectedSeq: expected, currentSeq: current)])
        }
        var why = "\(error)"
        if case .timeout = error { why += " (the record may or may not be stored: retry with the same Idempotency-Key)" }
        if !stored.isEmpty {
            why +=
                "; \(stored.count) record(s) of the batch before it are stored (seqs \(stored.map { String($0.seq) }.joined(separator: ", "))): retry with the same Idempotency-Key to complete it"
        }
        return .unavailable(why)
    }

    // MARK: Reading

    /// How long a read that names a seq this front has not applied yet waits for it.
    static let catchUpWait: Duration = .seconds(5)

    /// A seq past this front's index but within the stream's is waited for (the
    /// front is behind: after a reconnect, or while another front answered first);
    /// only a seq past the stream's own last seq is past the end (SPEC.md 7.3).
    ///
    /// Which node answers a stream-info request matters: a node that was cut off
    /// (paused, partitioned) and sees no leader answers with its own, stale state.
    /// So only an authoritative answer (``isAuthoritative(_:)``) can make a seq past
    /// the end, and only when a second one, a moment later, says the same; any
    /// other answer is asked again until the front has the seq or the bound passes.
    public func catchUp(to seq: UInt64) async throws(StoreError) -> Bool {
        let deadline = ContinuousClock.now + Self.catchUpWait
        var pastTheEnd = 0
        var why = "the stream did not answer"
        while true {
            if seq <= lastSeq { return true }
            if let info = try? await jetStream.streamInfo(options.stream) {
                if info.state.lastSeq >= seq {
                    // Within the stream: wait for this front to apply it.
                    if await waitUntilApplied(seq, timeout: max(deadline - ContinuousClock.now, .milliseconds(1))) { return true }
                    why = "this front has applied seq \(lastSeq) of the stream's \(info.state.lastSeq)"
                } else if Self.isAuthoritative(info) {
                    pastTheEnd += 1
                    if pastTheEnd == 2 { return seq <= lastSeq }
                } else {
                    why = "the stream's leader is not known"
                }
            }
            guard ContinuousClock.now < deadline else {
                throw .unavailable("\(why); seq \(seq) not reached in \(Self.catchUpWait): try again")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Whether a stream-info answer comes from a node that knows the stream's state:
    /// a standalone server (no cluster), or a leader listing its replicas (a node
    /// that answers for a stream it sees no leader of lists none).
    static func isAuthoritative(_ info: StreamInfo) -> Bool {
        guard let cluster = info.cluster else { return true }
        guard let leader = cluster.leader, !leader.isEmpty else { return false }
        return info.config.numReplicas <= 1 || !(cluster.replicas ?? []).isEmpty
    }

    public var lastSeq: UInt64 { state.withLock { $0.index.lastSeq } }

    public func latest(of event: String, upTo: UInt64) async throws(StoreError) -> Record? {
        let found = state.withLock { state -> (Record?, UInt64?) in
            let bound = min(upTo, state.index.lastSeq)
            guard let versions = state.index.names[event] else { return (nil, nil) }
            if versions.latest.seq <= bound { return (versions.latest, nil) }
            return (nil, state.index.seq(of: event, atOrBelow: bound))
        }
        if let record = found.0 { return record }
        guard let seq = found.1 else { return nil }
        return try await records(at: [seq]).first
    }

    public func latest(upTo: UInt64, where include: (String) -> Bool) async throws(StoreError) -> [Record] {
        var older: [UInt64] = []
        var records = state.withLock { state -> [Record] in
            let bound = min(upTo, state.index.lastSeq)
            var records: [Record] = []
            records.reserveCapacity(state.index.names.count)
            for (name, versions) in state.index.names where include(name) {
                if versions.latest.seq <= bound {
                    records.append(versions.latest)
                } else if let seq = state.index.seq(of: name, atOrBelow: bound) {
                    older.append(seq)
                }
            }
            return records
        }
        records += try await self.records(at: older)
        return records.sorted { $0.seq < $1.seq }
    }

    public func records(from first: UInt64, through last: UInt64, limit: Int) async throws(StoreError) -> [Record] {
        let end = min(last, lastSeq)
        var records: [Record] = []
        var next = max(first, 1)
        // Seqs that are no record (7.2) are left out, so a page may need more than `limit` seqs.
        while records.count < limit, next <= end {
            let upper = min(end, next + UInt64(limit - records.count) - 1)
            records += try await self.records(at: Array(next...upper))
            next = upper + 1
        }
        return records
    }

    public func history(of event: String, since: Int64?, until: Int64?, after: UInt64?, limit: Int?) async throws(StoreError) -> [Record]? {
        let seqs = state.withLock { state -> [UInt64]? in
            guard let versions = state.index.names[event] else { return nil }
            return versions.seqs.filter { seq in
                let timestamp = state.index.timestamp(of: seq) ?? 0
                return seq > (after ?? 0) && timestamp >= (since ?? .min) && timestamp <= (until ?? .max)
            }
        }
        guard let seqs else { return nil }
        return try await records(at: Array(seqs.prefix(limit ?? .max)))
    }

    public func lastSeq(atOrBefore timestamp: Int64) -> UInt64 {
        state.withLock { $0.index.lastSeq(atOrBefore: timestamp) }
    }

    /// The records at `seqs` (ascending), from the recent records where they are,
    /// else from the stream, several requests in flight at once. Seqs that are no
    /// record are left out.
    func records(at seqs: [UInt64]) async throws(StoreError) -> [Record] {
        var found: [UInt64: Record] = [:]
        var missing: [UInt64] = []
        state.withLock { state in
            for seq in seqs {
                switch state.index.recentRecord(seq) {
                case .some(.some(let record)): found[seq] = record
                case .some(.none): break
                case .none: missing.append(seq)
                }
            }
        }
        var start = 0
        while start < missing.count {
            let window = missing[start..<min(start + Self.readsInFlight, missing.count)]
            let fetched = await withTaskGroup(of: (UInt64, Result<JetStream.StoredMessage?, StoreError>).self) { group in
                for seq in window { group.addTask { (seq, await self.storedMessageResult(seq)) } }
                var results: [(UInt64, Result<JetStream.StoredMessage?, StoreError>)] = []
                for await result in group { results.append(result) }
                return results
            }
            for (seq, result) in fetched {
                if let message = try result.get(), let record = record(from: message) { found[seq] = record }
            }
            start += Self.readsInFlight
        }
        return seqs.compactMap { found[$0] }
    }

    static let readsInFlight = 64

    private func storedMessageResult(_ seq: UInt64) async -> Result<JetStream.StoredMessage?, StoreError> {
        do { return .success(try await storedMessage(seq)) } catch { return .failure(error) }
    }

    /// The stored message at `seq` (a seq this front has applied), by direct get. A
    /// replica that has not stored it yet answers 404: asked again, briefly.
    private func storedMessage(_ seq: UInt64) async throws(StoreError) -> JetStream.StoredMessage? {
        for _ in 0..<40 {
            do {
                if let message = try await jetStream.directGet(stream: options.stream, seq: seq) { return message }
            } catch {
                throw .unavailable("reading seq \(seq) from the stream: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        throw .unavailable("no replica of the stream had seq \(seq) within a second")
    }

    /// A stored message as a record, with the index's timestamp for its seq.
    private func record(from message: JetStream.StoredMessage) -> Record? {
        guard let name = subjects.event(of: message) else { return nil }
        let timestamp = state.withLock { $0.index.timestamp(of: message.seq) } ?? message.timeNanoseconds / 1_000_000
        return Record(seq: message.seq, timestamp: timestamp, event: name, data: message.payload)
    }

    // MARK: Health

    private func checkStream() async {
        var health = StreamHealth()
        do {
            if let info = try await jetStream.streamInfo(options.stream) {
                // A standalone server (no cluster) is the stream's only replica and its leader.
                let standalone = info.cluster == nil
                let leader = info.cluster?.leader ?? (standalone ? client.connectedServer?.description : nil)
                health.leader = leader
                let peers = info.cluster?.replicas ?? []
                health.replicas = peers.count + (leader == nil ? 0 : 1)
                health.currentReplicas = peers.filter { $0.current && $0.offline != true }.count + (leader == nil ? 0 : 1)
                if leader == nil { health.error = "the stream has no leader" }
            } else {
                health.error = "the stream \(options.stream) does not exist"
            }
        } catch {
            health.error = "\(error)"
        }
        state.withLock { $0.stream = health }
    }

    public var health: StoreHealth {
        let (stream, lastSeq) = state.withLock { ($0.stream, $0.index.lastSeq) }
        let connected = client.isConnected
        let failure: String? = connected ? stream.error.map { "JetStream: \($0)" } : "not connected to NATS"
        let replication = ReplicationHealth(
            connected: connected, server: connected ? client.connectedServer?.description ?? "" : nil, stream: options.stream,
            streamLeader: stream.leader, replicas: stream.replicas, currentReplicas: stream.currentReplicas, indexedSeq: lastSeq)
        return StoreHealth(failure: failure, replication: replication)
    }

    public var statistics: StoreStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.eventNames = state.index.names.count
            statistics.indexBytes = state.index.memoryBytes
            statistics.lastSeq = state.index.lastSeq
            return statistics
        }
    }

    public var summary: String { "stream \(options.stream) on NATS at \(options.servers.map(\.description).joined(separator: ","))" }

    public func close() async {
        let (feed, waiters) = state.withLock { state in
            state.isClosed = true
            defer { state.waiters.removeAll() }
            return (state.feed, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.waiter.resume(returning: false) }
        feed.finish()
        consumer.withLock { $0 }?.stop()
        for task in tasks.withLock({ $0 }) { task.cancel() }
        await client.close()
    }
}
