public import BrokerStore

/// The segment log of one data directory as an `EventStore`: what `broker serve`
/// serves by default. It adds nothing to ``EventLog`` but the store's vocabulary: the
/// log's own errors become the `StoreError` a client meets (a damaged segment, a
/// failed write or fsync, a closed log: `StoreError.unavailable`).
public final class SegmentStore: EventStore {
    /// The log this store serves; the tools and the tests use it directly.
    public let log: EventLog

    public init(_ log: EventLog) { self.log = log }

    public var lastSeq: UInt64 { log.lastSeq }

    public func append(_ batch: [AppendEntry], idempotencyKey: IdempotencyKey?) async throws(StoreError) -> AppendResult {
        do throws(LogError) { return try await log.append(batch, idempotencyKey: idempotencyKey) } catch { throw Self.storeError(error) }
    }

    /// Everything written is visible at once or after its fsync: a seq past the last
    /// visible one is past the end of this log.
    public func catchUp(to seq: UInt64) -> Bool { seq <= log.lastSeq }

    public func subscribe() -> StoreSubscription { log.subscribe() }

    public func latest(of event: String, upTo: UInt64) throws(StoreError) -> Record? {
        do throws(LogError) { return try log.latest(of: event, upTo: upTo) } catch { throw Self.storeError(error) }
    }

    public func latest(upTo: UInt64, where include: (String) -> Bool) throws(StoreError) -> [Record] {
        do throws(LogError) { return try log.latest(upTo: upTo, where: include) } catch { throw Self.storeError(error) }
    }

    public func records(from first: UInt64, through last: UInt64, limit: Int) throws(StoreError) -> [Record] {
        let cursor = log.read(from: first)
        var records: [Record] = []
        do throws(LogError) {
            while records.count < limit, let record = try cursor.next(), record.seq <= last { records.append(record) }
        } catch {
            throw Self.storeError(error)
        }
        return records
    }

    public func history(of event: String, since: Int64?, until: Int64?, after: UInt64?, limit: Int?) throws(StoreError) -> [Record]? {
        do throws(LogError) {
            return try log.history(of: event, since: since, until: until, after: after, limit: limit)
        } catch {
            throw Self.storeError(error)
        }
    }

    public func lastSeq(atOrBefore timestamp: Int64) throws(StoreError) -> UInt64 {
        do throws(LogError) { return try log.lastSeq(atOrBefore: timestamp) } catch { throw Self.storeError(error) }
    }

    public var health: StoreHealth { StoreHealth(failure: log.failure?.description) }

    public var statistics: StoreStatistics { log.statistics }

    public var summary: String { "data in \(log.directory)" }

    public func close() async { await log.close() }

    /// The log's error as a client meets it: the append's own refusals keep their
    /// case, and everything else makes the store unavailable, with the log's reason.
    static func storeError(_ error: LogError) -> StoreError {
        switch error {
        case .invalidEventName(let why): .invalidEventName(why)
        case .recordTooLarge(let bytes, let limit): .recordTooLarge(bytes: bytes, limit: limit)
        case .seqConflict(let conflicts): .seqConflict(conflicts)
        case .idempotencyKeyReused(let key, let firstSeq): .idempotencyKeyReused(key: key, firstSeq: firstSeq)
        case .idempotencyKeysFull(let capacity, let retryAfterMs): .idempotencyKeysFull(capacity: capacity, retryAfterMs: retryAfterMs)
        case .io, .locked, .corrupt, .discontinuity, .notALog, .invalidOptions, .closed: .unavailable(error.description)
        }
    }
}
