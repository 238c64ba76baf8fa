/// What the HTTP server needs of the log it serves, and all it knows of it: appends,
/// a live feed, the latest index, reads by seq, history and health. Two stores
/// implement it: ``EventLog`` (the segment log of one data directory, the default)
/// and the JetStream store (`serve --nats`, a front over a replicated stream). Reads
/// are async because the second may have to ask the stream for what it does not hold.
public protocol EventStore: AnyObject, Sendable {
    /// The highest seq readers and subscribers can see (0 when empty).
    var lastSeq: UInt64 { get }

    /// Appends a batch, or with a known `idempotencyKey` answers the first request's
    /// records (SPEC.md 3.1, 3.6; 7 for what a batch guarantees on JetStream).
    func append(_ batch: [AppendEntry], idempotencyKey: IdempotencyKey?) async throws(LogError) -> AppendResult

    /// Waits until every record through `seq` is visible here, when the store's log
    /// holds `seq`: true once they are, false when `seq` is past the log's last seq
    /// (the reader's seqs come from another log). A store that follows a replicated
    /// log (a front) and is behind it waits a bounded time, then throws
    /// ``LogError/unavailable(_:)`` (SPEC.md 7.3): a reader that names a seq is never
    /// answered as if that seq did not exist.
    func catchUp(to seq: UInt64) async throws(LogError) -> Bool

    /// A feed of every record made visible from now on; those up to its `startSeq`
    /// are read with the methods below.
    func subscribe() -> LogSubscription

    /// The latest record of `event` as of seq `upTo`, or nil when it has none.
    func latest(of event: String, upTo: UInt64) async throws(LogError) -> Record?

    /// The latest record of every name `include` admits, as of seq `upTo`, in seq order.
    func latest(upTo: UInt64, where include: (String) -> Bool) async throws(LogError) -> [Record]

    /// Up to `limit` records from seq `first` through `last` (or the last visible
    /// seq, if lower), in seq order: a page of a resumed stream's backlog.
    func records(from first: UInt64, through last: UInt64, limit: Int) async throws(LogError) -> [Record]

    /// The history of `event`, oldest first (``EventLog/history(of:since:until:after:limit:)``);
    /// nil when it was never appended.
    func history(of event: String, since: Int64?, until: Int64?, after: UInt64?, limit: Int?) async throws(LogError) -> [Record]?

    /// The last seq stamped at or before `timestamp` (ms since the epoch), 0 when none.
    func lastSeq(atOrBefore timestamp: Int64) async throws(LogError) -> UInt64

    /// Whether appends can succeed now, and what `/healthz` adds about the store.
    var health: StoreHealth { get }

    /// Counters for `/metrics`.
    var statistics: LogStatistics { get }

    /// Where the records live, for the startup line ("data in ./data").
    var summary: String { get }

    /// Stops appends, makes what was written durable, ends every subscription.
    func close() async
}

/// A store's health as `/healthz` reports it (SPEC.md 4.6).
public struct StoreHealth: Sendable {
    /// Why appends fail now; nil while they can succeed.
    public var failure: String?
    /// More members of the health object: names and JSON values.
    public var details: [(name: String, json: String)]

    public init(failure: String? = nil, details: [(name: String, json: String)] = []) {
        self.failure = failure
        self.details = details
    }
}

extension EventLog: EventStore {
    /// Everything written is visible at once or after its fsync: a seq past the last
    /// visible one is past the end of this log.
    public func catchUp(to seq: UInt64) -> Bool { seq <= lastSeq }

    public func latest(of event: String, upTo: UInt64) throws(LogError) -> Record? {
        try latest(of: event, upTo: Optional(upTo))
    }

    public func latest(upTo: UInt64, where include: (String) -> Bool) throws(LogError) -> [Record] {
        try latest(upTo: Optional(upTo), where: include)
    }

    public func records(from first: UInt64, through last: UInt64, limit: Int) throws(LogError) -> [Record] {
        let cursor = read(from: first)
        var records: [Record] = []
        while records.count < limit, let record = try cursor.next(), record.seq <= last { records.append(record) }
        return records
    }

    public var health: StoreHealth { StoreHealth(failure: failure?.description) }

    public var summary: String { "data in \(directory)" }
}
