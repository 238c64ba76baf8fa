import BrokerLog
import NIOCore

/// One subscriber's queue of SSE messages, bounded in bytes (SPEC.md 4.3). A
/// connection waiting for messages gets one the moment it is queued; what arrives
/// while the connection is writing waits and goes out with its next write, so a busy
/// stream sends many messages with one system call and an idle one adds no delay.
///
/// The bound counts what the connection still holds as well as what waits here: the
/// batch it is writing, and the one before it, which NIO may still be buffering (a
/// write returns once the previous bytes have mostly reached the socket, not its own).
final class SubscriberQueue: Sendable {
    enum AppendResult: Equatable {
        /// Queued behind others: the connection takes it with them.
        case queued
        /// Queued into an empty queue: the hub must ``release()`` it.
        case queuedFirst
        /// The message would take the subscriber past its byte limit: not queued.
        case overLimit
        case finished
    }

    /// What a message costs beyond its bytes: its slot here and its buffer's header.
    static let messageOverhead = 64

    static func cost(of message: ByteBuffer) -> Int { message.readableBytes + messageOverhead }

    private struct State {
        var pending: [ByteBuffer] = []
        var pendingBytes = 0
        /// The batch handed to the connection whose write has not returned.
        var writingBytes = 0
        /// The batch whose write returned last: it may still sit in NIO's buffer.
        var writtenBytes = 0
        /// The connection, when it waits for a message.
        var waiter: CheckedContinuation<[ByteBuffer]?, Never>?
        var finished = false

        var heldBytes: Int { pendingBytes + writingBytes + writtenBytes }

        /// Moves what is pending to the connection.
        mutating func handOver() -> [ByteBuffer] {
            writingBytes = pendingBytes
            pendingBytes = 0
            defer { pending = [] }
            return pending
        }
    }

    /// The most bytes the subscriber may hold (``cost(of:)`` summed).
    let limit: Int
    private let state = Locked(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// The bytes the subscriber holds now: queued, being written, and last written.
    var heldBytes: Int { state.withLock { $0.heldBytes } }

    /// Queues a message without waking the connection.
    func append(_ message: ByteBuffer) -> AppendResult {
        let cost = Self.cost(of: message)
        return state.withLock { state in
            if state.finished { return .finished }
            guard state.heldBytes + cost <= limit else { return .overLimit }
            state.pending.append(message)
            state.pendingBytes += cost
            return state.pending.count == 1 ? .queuedFirst : .queued
        }
    }

    /// Hands what is queued to the connection if it waits; otherwise it takes it when
    /// its write returns.
    func release() {
        let handOver = state.withLock { state -> (CheckedContinuation<[ByteBuffer]?, Never>, [ByteBuffer])? in
            guard !state.pending.isEmpty, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.handOver())
        }
        if let (waiter, messages) = handOver { waiter.resume(returning: messages) }
    }

    /// Ends the queue: the connection gets what is queued, then nil.
    func finish() {
        let handOver = state.withLock { state -> (CheckedContinuation<[ByteBuffer]?, Never>, [ByteBuffer]?)? in
            state.finished = true
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.pending.isEmpty ? nil : state.handOver())
        }
        if let (waiter, messages) = handOver { waiter.resume(returning: messages) }
    }

    /// The connection's next batch, oldest first, once its previous write has returned:
    /// everything queued, or the next message when nothing is; nil once the queue is
    /// finished and empty, or the task is cancelled.
    func next() async -> [ByteBuffer]? {
        let ready = state.withLock { state -> [ByteBuffer]?? in
            // The write of the batch before returned: that batch is now the last written.
            state.writtenBytes = state.writingBytes
            state.writingBytes = 0
            return Self.take(&state)
        }
        if let ready { return ready }
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

    /// What the connection may take without waiting: the queued messages, or
    /// `.some(nil)` at the end; nil when it must wait.
    private static func take(_ state: inout State) -> [ByteBuffer]?? {
        if !state.pending.isEmpty { return .some(state.handOver()) }
        return state.finished || Task.isCancelled ? .some(nil) : .none
    }
}
