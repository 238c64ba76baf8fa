import BrokerLog
import NIOCore

/// One subscriber's bounded queue of SSE messages. The hub appends messages as
/// records arrive and releases them to the connection at most once per coalescing
/// period (``SubscriberHub``), so a busy stream sends many messages with one write
/// (and one system call) and the hub wakes each connection at most once per period.
final class SubscriberQueue: Sendable {
    enum AppendResult: Equatable {
        /// Queued behind others that wait for a release.
        case queued
        /// Queued into an empty queue: the hub must release this queue.
        case queuedFirst
        /// The queue held `capacity` messages: the message was not queued.
        case dropped
        case finished
    }

    private struct State {
        var pending: [ByteBuffer] = []
        /// Set by ``release()`` when no connection was waiting: `pending` may be taken.
        var released = false
        /// The connection, when it waits for a release.
        var waiter: CheckedContinuation<[ByteBuffer]?, Never>?
        var finished = false
    }

    let capacity: Int
    private let state = Locked(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues a message without waking the connection.
    func append(_ message: ByteBuffer) -> AppendResult {
        state.withLock { state in
            if state.finished { return .finished }
            guard state.pending.count < capacity else { return .dropped }
            state.pending.append(message)
            return state.pending.count == 1 ? .queuedFirst : .queued
        }
    }

    /// Hands what is queued to the connection: now if it waits, else when it next asks.
    func release() {
        let handOver = state.withLock { state -> (CheckedContinuation<[ByteBuffer]?, Never>, [ByteBuffer])? in
            guard !state.pending.isEmpty else { return nil }
            guard let waiter = state.waiter else {
                state.released = true
                return nil
            }
            state.waiter = nil
            defer { state.pending = [] }
            return (waiter, state.pending)
        }
        if let (waiter, messages) = handOver { waiter.resume(returning: messages) }
    }

    /// Ends the queue: the connection gets what is queued, then nil.
    func finish() {
        let handOver = state.withLock { state -> (CheckedContinuation<[ByteBuffer]?, Never>, [ByteBuffer]?)? in
            state.finished = true
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            defer { state.pending = [] }
            return (waiter, state.pending.isEmpty ? nil : state.pending)
        }
        if let (waiter, messages) = handOver { waiter.resume(returning: messages) }
    }

    /// The released messages, oldest first, waiting for a release; nil once the queue
    /// is finished and empty, or the task is cancelled.
    func next() async -> [ByteBuffer]? {
        if let ready = state.withLock({ Self.take(&$0) }) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> [ByteBuffer]?? in
                    if let ready = Self.take(&state) { return .some(ready) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            finish()
        }
    }

    /// What the connection may take without waiting: the released messages, or
    /// `.some(nil)` at the end; nil when it must wait.
    private static func take(_ state: inout State) -> [ByteBuffer]?? {
        if state.released || state.finished, !state.pending.isEmpty {
            state.released = false
            defer { state.pending = [] }
            return .some(state.pending)
        }
        return state.finished || Task.isCancelled ? .some(nil) : .none
    }
}
