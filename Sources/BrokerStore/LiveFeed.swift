/// A live feed from ``EventStore/subscribe()``.
public struct StoreSubscription: Sendable {
    /// Every record with seq above this arrives on `records`; those at or below it do not.
    public let startSeq: UInt64
    /// The records, in seq order, with no gap. Unbounded: consume promptly.
    public let records: AsyncStream<Record>

    public init(startSeq: UInt64, records: AsyncStream<Record>) {
        self.startSeq = startSeq
        self.records = records
    }
}

/// The subscriber table of a store: what each store's ``EventStore/subscribe()`` hands
/// out and each append feeds. For the hand-over to be gapless, the store calls
/// ``subscribe(startSeq:)`` and `publish(_:)` under the one lock that orders its
/// appends, with `startSeq` the last seq published: then a subscription gets exactly
/// the records above its `startSeq`, in seq order.
public final class LiveFeed: Sendable {
    private struct State {
        var subscribers: [UInt64: AsyncStream<Record>.Continuation] = [:]
        var nextID: UInt64 = 0
        var isFinished = false
    }

    private let state = Locked(State())

    public init() {}

    /// A subscription to every record published from now on; after ``finish()`` one
    /// whose stream has already ended.
    public func subscribe(startSeq: UInt64) -> StoreSubscription {
        let (stream, continuation) = AsyncStream<Record>.makeStream(bufferingPolicy: .unbounded)
        let id = state.withLock { state in
            state.nextID += 1
            if !state.isFinished { state.subscribers[state.nextID] = continuation }
            return state.isFinished ? nil : state.nextID
        }
        guard let id else {
            continuation.finish()
            return StoreSubscription(startSeq: startSeq, records: stream)
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        return StoreSubscription(startSeq: startSeq, records: stream)
    }

    /// Gives `records` (in seq order, following what was published before) to every subscriber.
    public func publish<Records: Sequence<Record>>(_ records: Records) {
        state.withLock { state in
            for record in records { for subscriber in state.subscribers.values { subscriber.yield(record) } }
        }
    }

    /// Gives `record` to every subscriber.
    public func publish(_ record: Record) { publish(CollectionOfOne(record)) }

    /// Ends every subscription, and those made later at once: the store is closing.
    public func finish() {
        let subscribers = state.withLock { state in
            state.isFinished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        // Outside the lock: finishing runs `onTermination`, which takes it.
        for subscriber in subscribers { subscriber.finish() }
    }

    /// How many subscriptions are live.
    public var count: Int { state.withLock { $0.subscribers.count } }
}
