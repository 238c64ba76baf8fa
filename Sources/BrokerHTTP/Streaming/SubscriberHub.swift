import BrokerStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Fans every record the log makes visible out to the SSE subscribers. Each record is
/// encoded to its SSE bytes once and the same buffer is queued for every subscriber
/// that wants it. Each subscriber is bounded in bytes: one that would go over its
/// limit is cut off (it resumes by Last-Event-ID), so a slow client cannot grow the
/// server's memory.
///
/// Each queue writes to its connection from the connection's event loop, without a
/// task switch: at once when nothing is pending, and what arrives before that write
/// runs goes with it (SPEC.md 4.3), which is what lets one server feed thousands of
/// streams without delaying any of them.
final class SubscriberHub: Service, Sendable {
    /// A subscriber's place in the hub: its queue of SSE bytes, and the seq after which
    /// the hub feeds it. Everything up to `startSeq` it must read from the log.
    struct Registration: Sendable {
        let id: UInt64
        let startSeq: UInt64
        let messages: SubscriberQueue
    }

    private struct Subscriber {
        let selector: EventSelector
        /// Records up to here the subscriber has (its resume point): never sent live.
        let after: UInt64
        let format: SSEFormat
        let queue: SubscriberQueue
        /// When its token stops being valid, on ``timers``' clock: the stream ends then
        /// (SPEC.md 4.11).
        let deadline: NIODeadline?
    }

    private struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        var nextID: UInt64 = 0
        /// The last seq handed to subscribers.
        var lastSeq: UInt64
        var isClosed = false
        /// The earliest deadline of any subscriber, so the sweep usually looks at none.
        var earliestDeadline: NIODeadline?
    }

    /// How often streams whose token expired are looked for.
    static let expirySweep = TimeAmount.milliseconds(250)

    private let state: Locked<State>
    private let feed: StoreSubscription
    /// The most bytes one subscriber may hold (``SubscriberQueue``).
    private let bufferBytes: Int
    private let heartbeat: TimeAmount
    /// The loop whose clock runs the heartbeat, the expiry sweep and the deadlines: a
    /// server's, or a test's `NIOAsyncTestingEventLoop`, whose time only moves when told.
    let timers: any EventLoop
    private let metrics: BrokerMetrics
    private let logger: Logger
    private let allocator = ByteBufferAllocator()
    /// The writers of the event loops the streams are on.
    let loopWriters = LoopWriters()

    init(
        store: any EventStore, bufferBytes: Int, heartbeat: Duration, metrics: BrokerMetrics, logger: Logger,
        timers: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    ) {
        self.feed = store.subscribe()
        self.state = Locked(State(lastSeq: feed.startSeq))
        self.bufferBytes = bufferBytes
        self.heartbeat = TimeAmount(heartbeat)
        self.timers = timers
        self.metrics = metrics
        self.logger = logger
    }

    /// The last seq handed to subscribers.
    var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Feeds subscribers until the service is shut down, with a heartbeat comment for
    /// every connection each `heartbeat`.
    func run() async throws {
        let timers = startTimers()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await record in self.feed.records.cancelOnGracefulShutdown() { self.publish(record) }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        for timer in timers { timer.cancel() }
        closeAll()
    }

    /// The heartbeat and the expiry sweep, on ``timers``; ``run()`` starts them, and a
    /// test that drives the clock itself may too.
    func startTimers() -> [RepeatedTask] {
        [
            timers.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { _ in
                self.broadcast(SSEMessage.comment("ping", allocator: self.allocator))
            },
            timers.scheduleRepeatedTask(initialDelay: Self.expirySweep, delay: Self.expirySweep) { _ in
                self.endExpired(at: self.timers.now)
            },
        ]
    }

    /// The time on ``timers``' clock.
    var now: NIODeadline { timers.now }

    /// The deadline on ``timers``' clock that a wall-clock date (a token's expiry) falls at.
    func deadline(at date: Date) -> NIODeadline {
        now + .milliseconds(Int64((date.timeIntervalSinceNow * 1000).rounded(.up)))
    }

    /// Registers a subscriber for the records after the hub's current seq. With
    /// `expectedSeq`, registers only if the hub is still there (nil otherwise), so a
    /// caller catching up from the log can hand over exactly. With a `deadline`, the
    /// subscriber's queue ends then (its token expired).
    /// With `after`, records up to that seq are not fed (a resumed subscriber has them,
    /// even when it resumes past what the hub has published so far).
    func register(
        _ selector: EventSelector, format: SSEFormat, deadline: NIODeadline? = nil, ifAt expectedSeq: UInt64? = nil,
        after: UInt64 = 0
    ) -> Registration? {
        let queue = SubscriberQueue(limit: bufferBytes)
        let registration = state.withLock { state -> Registration? in
            if let expectedSeq, expectedSeq != state.lastSeq { return nil }
            state.nextID += 1
            if state.isClosed {
                queue.finish()
            } else {
                state.subscribers[state.nextID] = Subscriber(selector: selector, after: after, format: format, queue: queue, deadline: deadline)
                if let deadline, state.earliestDeadline.map({ deadline < $0 }) ?? true { state.earliestDeadline = deadline }
            }
            return Registration(id: state.nextID, startSeq: state.lastSeq, messages: queue)
        }
        return registration
    }

    func unregister(_ id: UInt64) {
        let removed = state.withLock { $0.subscribers.removeValue(forKey: id) }
        removed?.queue.finish()
    }

    private func publish(_ record: Record) {
        // Encoded once per format in use, whatever the number of subscribers.
        var encoded: [SSEFormat: ByteBuffer] = [:]
        deliver(lastSeq: record.seq) { subscriber in
            guard record.seq > subscriber.after, subscriber.selector.admits(record.event) else { return nil }
            let message = encoded[subscriber.format] ?? SSEMessage.encode(record, format: subscriber.format, allocator: allocator)
            encoded[subscriber.format] = message
            return message
        }
        metrics.sseMessages.increment()
    }

    private func broadcast(_ message: ByteBuffer) {
        deliver { _ in message }
    }

    /// Queues `message(subscriber)` for every subscriber it is not nil for, under the
    /// lock (so records keep their order and `lastSeq` moves with them); each queue
    /// writes it to its connection at once or with the write already scheduled.
    /// Subscribers over their byte limit are cut off.
    private func deliver(lastSeq: UInt64? = nil, _ message: (Subscriber) -> ByteBuffer?) {
        let overflowed = state.withLock { state -> [Subscriber] in
            if let lastSeq { state.lastSeq = lastSeq }
            var overflowed: [Subscriber] = []
            for (id, subscriber) in state.subscribers {
                guard let bytes = message(subscriber) else { continue }
                if subscriber.queue.append(bytes) == .overLimit {
                    overflowed.append(subscriber)
                    state.subscribers[id] = nil
                }
            }
            return overflowed
        }
        cutOff(overflowed)
    }

    /// Ends the queues of subscribers that fell too far behind (a message would take
    /// them over their byte limit): they get what is queued, then their connection closes.
    private func cutOff(_ subscribers: [Subscriber]) {
        guard !subscribers.isEmpty else { return }
        for subscriber in subscribers { subscriber.queue.finish() }
        metrics.subscribersDropped.increment(by: subscribers.count)
        logger.info("disconnected \(subscribers.count) slow subscriber(s): over the \(bufferBytes)-byte subscriber buffer")
    }

    /// Ends the streams whose token is no longer valid: each gets what is queued for
    /// it and a `: token expired` comment, then its connection's response ends.
    func endExpired(at now: NIODeadline) {
        let expired = state.withLock { state -> [Subscriber] in
            guard let earliest = state.earliestDeadline, earliest <= now else { return [] }
            var expired: [Subscriber] = []
            var earliestLeft: NIODeadline?
            for (id, subscriber) in state.subscribers {
                guard let deadline = subscriber.deadline else { continue }
                if deadline <= now {
                    expired.append(subscriber)
                    state.subscribers[id] = nil
                } else if earliestLeft.map({ deadline < $0 }) ?? true {
                    earliestLeft = deadline
                }
            }
            state.earliestDeadline = earliestLeft
            return expired
        }
        guard !expired.isEmpty else { return }
        let notice = SSEMessage.comment("token expired", allocator: allocator)
        for subscriber in expired {
            _ = subscriber.queue.append(notice)
            subscriber.queue.finish()
        }
        metrics.subscribersExpired.increment(by: expired.count)
    }

    /// Ends every subscription: on shutdown.
    func closeAll() {
        let all = state.withLock { state in
            state.isClosed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in all { subscriber.queue.finish() }
    }
}
