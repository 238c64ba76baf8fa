/// What the HTTP server needs of the records it serves, and all it knows of them:
/// appends, a live feed, the latest index, reads by seq, history and health. Stores
/// are peers that implement it: the segment store (BrokerLog, one data directory, the
/// default), the JetStream store (`serve --nats`, a front over a replicated stream) and
/// `MemoryStore` (tests). Reads are async because a front may have to ask the stream
/// for what it does not hold. `StoreContractTests` in the tests is what each must do.
public protocol EventStore: AnyObject, Sendable {
    /// The highest seq readers and subscribers can see (0 when empty).
    var lastSeq: UInt64 { get }

    /// Appends a batch, or with a known `idempotencyKey` answers the first request's
    /// records (SPEC.md 3.1, 3.6; 7 for what a batch guarantees on JetStream).
    func append(_ batch: [AppendEntry], idempotencyKey: IdempotencyKey?) async throws(StoreError) -> AppendResult

    /// Waits until every record through `seq` is visible here, when the store's log
    /// holds `seq`: true once they are, false when `seq` is past the log's last seq
    /// (the reader's seqs come from another log). A store that follows a replicated
    /// log (a front) and is behind it waits a bounded time, then throws
    /// ``StoreError/unavailable(_:)`` (SPEC.md 7.3): a reader that names a seq is never
    /// answered as if that seq did not exist.
    func catchUp(to seq: UInt64) async throws(StoreError) -> Bool

    /// A feed of every record made visible from now on; those up to its `startSeq`
    /// are read with the methods below.
    func subscribe() -> StoreSubscription

    /// The latest record of `event` as of seq `upTo`, or nil when it has none.
    func latest(of event: String, upTo: UInt64) async throws(StoreError) -> Record?

    /// The latest record of every name `include` admits, as of seq `upTo`, in seq order.
    func latest(upTo: UInt64, where include: (String) -> Bool) async throws(StoreError) -> [Record]

    /// Up to `limit` records from seq `first` through `last` (or the last visible
    /// seq, if lower), in seq order: a page of a resumed stream's backlog.
    func records(from first: UInt64, through last: UInt64, limit: Int) async throws(StoreError) -> [Record]

    /// The history of `event`, oldest first (records stamped at or after `since` and
    /// before `until`, with seq above `after`, at most `limit`);
    /// nil when it was never appended.
    func history(of event: String, since: Int64?, until: Int64?, after: UInt64?, limit: Int?) async throws(StoreError) -> [Record]?

    /// The last seq stamped at or before `timestamp` (ms since the epoch), 0 when none.
    func lastSeq(atOrBefore timestamp: Int64) async throws(StoreError) -> UInt64

    /// Whether appends can succeed now, and what `/healthz` adds about the store.
    var health: StoreHealth { get }

    /// Counters for `/metrics`.
    var statistics: StoreStatistics { get }

    /// Where the records live, for the startup line ("data in ./data").
    var summary: String { get }

    /// Stops appends, makes what was written durable, ends every subscription.
    func close() async
}

/// A store's health as `/healthz` reports it (SPEC.md 4.6).
public struct StoreHealth: Sendable, Equatable {
    /// Why appends fail now; nil while they can succeed.
    public var failure: String?
    /// The replicated log behind a front; nil for a store of its own.
    public var replication: ReplicationHealth?

    public init(failure: String? = nil, replication: ReplicationHealth? = nil) {
        self.failure = failure
        self.replication = replication
    }
}

/// A front's view of the replicated log it follows (`/healthz`'s `nats` member, SPEC.md 4.6).
public struct ReplicationHealth: Sendable, Equatable {
    public var connected: Bool
    /// The server the front is connected to, when it is.
    public var server: String?
    public var stream: String
    public var streamLeader: String?
    public var replicas: Int
    public var currentReplicas: Int
    /// The last seq the front has applied to its index.
    public var indexedSeq: UInt64

    public init(
        connected: Bool, server: String?, stream: String, streamLeader: String?, replicas: Int, currentReplicas: Int, indexedSeq: UInt64
    ) {
        self.connected = connected
        self.server = server
        self.stream = stream
        self.streamLeader = streamLeader
        self.replicas = replicas
        self.currentReplicas = currentReplicas
        self.indexedSeq = indexedSeq
    }
}

/// Counters of what a store has done since it was opened (`/metrics`, SPEC.md 4.6);
/// 0 for what a store does not have (a front has no segments and no fsyncs).
public struct StoreStatistics: Sendable, Equatable {
    /// Records appended (a replayed idempotent request appends none).
    public var appends: UInt64 = 0
    /// Bytes written for them: the segment store's frames, a front's data bytes.
    public var bytesAppended: UInt64 = 0
    public var fsyncs: UInt64 = 0
    public var segments: Int = 0
    public var eventNames: Int = 0
    /// Bytes held by the latest index.
    public var indexBytes: Int = 0
    public var lastSeq: UInt64 = 0

    public init() {}
}
