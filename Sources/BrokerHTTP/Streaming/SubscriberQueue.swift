import BrokerStore
import NIOCore
import NIOHTTPTypes

/// Where a subscriber's live messages go once its backlog is written: its connection.
protocol StreamOutput: Sendable {
    var eventLoop: any EventLoop { get }
    /// Writes and flushes `bytes`, on the event loop; `promise` completes once they are
    /// in the socket (or fails when the connection is gone).
    func write(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>)
    /// Completes when the connection closes.
    var closed: EventLoopFuture<Void> { get }
}

/// A connection's channel as a stream's output: body parts of its HTTP response, written
/// behind whatever the response's writer wrote before (the same event loop, in order).
struct ChannelOutput: StreamOutput {
    let channel: any Channel

    var eventLoop: any EventLoop { channel.eventLoop }
    var closed: EventLoopFuture<Void> { channel.closeFuture }

    func write(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>) {
        channel.writeAndFlush(HTTPResponsePart.body(bytes), promise: promise)
    }
}

/// One subscriber's queue of SSE messages, bounded in bytes (SPEC.md 4.3).
///
/// Until the stream's backlog is written, messages wait here. Then they are written to
/// the connection from its event loop, without waking the connection's task: a message
/// queued while nothing is pending goes out at once, and everything queued before that
/// write runs goes with it, so a busy stream sends many messages with one system call
/// and an idle one adds no delay.
///
/// The bound counts what waits here and what was written to the connection but is not
/// yet in the socket (NIO's buffer), so a client that stops reading holds at most
/// `limit` bytes of the server's memory.
final class SubscriberQueue: Sendable {
    enum AppendResult: Equatable {
        case queued
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
        /// Written to the connection, not yet in the socket.
        var unsentBytes = 0
        var output: (any StreamOutput)?
        var writer: LoopWriter?
        /// The queue is on its loop writer's list: a write of what is pending will run.
        var writeScheduled = false
        var finished = false
        /// The connection's task, waiting for the stream to end.
        var streamEnd: CheckedContinuation<Void, Never>?

        var heldBytes: Int { pendingBytes + unsentBytes }

        /// The writer to schedule a write with now: there is an output, something to
        /// write (or the end to signal), and no write already scheduled.
        mutating func needsWrite() -> LoopWriter? {
            guard let writer, output != nil, !writeScheduled, !pending.isEmpty || finished else { return nil }
            writeScheduled = true
            return writer
        }
    }

    /// The most bytes the subscriber may hold (``cost(of:)`` summed).
    let limit: Int
    private let state = Locked(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// The bytes the subscriber holds now: queued, and written but not yet in the socket.
    var heldBytes: Int { state.withLock { $0.heldBytes } }

    /// Queues a message; once the stream is live, schedules its write unless one is
    /// already scheduled (which will take this message too).
    func append(_ message: ByteBuffer) -> AppendResult {
        let cost = Self.cost(of: message)
        let (result, writer) = state.withLock { state -> (AppendResult, LoopWriter?) in
            if state.finished { return (.finished, nil) }
            guard state.heldBytes + cost <= limit else { return (.overLimit, nil) }
            state.pending.append(message)
            state.pendingBytes += cost
            return (.queued, state.needsWrite())
        }
        writer?.schedule(self)
        return result
    }

    /// Ends the queue: what is queued is still written, then the stream ends.
    func finish() {
        let writer = state.withLock { state -> LoopWriter? in
            state.finished = true
            return state.needsWrite()
        }
        writer?.schedule(self)
    }

    /// Writes the queued messages and every later one to `output` through `writer`
    /// (the writer of the output's event loop), and returns when the queue is finished
    /// and all of it is written, the connection closes, or the task is cancelled.
    /// Called once the backlog is written.
    ///
    /// The queue is connected to its output by a task on the output's event loop,
    /// submitted after the backlog's last write was (a write of the response's writer
    /// has been handed to the loop, or done on it, by the time it returns). The loop
    /// runs its tasks in order, so every backlog byte is in the channel before the
    /// first live one. Connected at once, a queue could be written by the loop
    /// writer's round already running on the loop, ahead of backlog writes still
    /// waiting in the loop's task list: live records overtook the snapshot (SPEC.md 4.3).
    func stream(to output: any StreamOutput, through writer: LoopWriter) async {
        output.closed.whenComplete { _ in self.finish() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in attach(to: output, through: writer, end: continuation) }
        } onCancel: {
            finish()
        }
    }

    /// The synchronous part of ``stream(to:through:)``: `end` is resumed once the
    /// stream is over; the queue is connected by a task on the output's loop.
    func attach(to output: any StreamOutput, through writer: LoopWriter, end: CheckedContinuation<Void, Never>) {
        state.withLock { state in
            state.writer = writer
            state.streamEnd = end
        }
        output.eventLoop.execute {
            let scheduled = self.state.withLock { state -> LoopWriter? in
                state.output = output
                return state.needsWrite()
            }
            scheduled?.schedule(self)
        }
    }

    /// On the output's event loop (from its ``LoopWriter``): writes everything queued by
    /// now with one write, and ends the stream if the queue is finished.
    func writePending() {
        let (output, batch, bytes, streamEnd) = state.withLock {
            state -> ((any StreamOutput)?, [ByteBuffer], Int, CheckedContinuation<Void, Never>?) in
            state.writeScheduled = false
            let batch = state.pending
            let bytes = state.pendingBytes
            state.pending = []
            state.pendingBytes = 0
            state.unsentBytes += bytes
            let end = state.finished ? state.streamEnd : nil
            if end != nil { state.streamEnd = nil }
            return (state.output, batch, bytes, end)
        }
        if let output, !batch.isEmpty {
            let promise = output.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in self.state.withLock { $0.unsentBytes -= bytes } }
            output.write(Self.joined(batch), promise: promise)
        }
        streamEnd?.resume()
    }

    /// One buffer holding a batch of messages, to write them with one system call.
    private static func joined(_ batch: [ByteBuffer]) -> ByteBuffer {
        guard batch.count > 1 else { return batch[0] }
        var buffer = ByteBufferAllocator().buffer(capacity: batch.reduce(0) { $0 + $1.readableBytes })
        for message in batch { buffer.writeImmutableBuffer(message) }
        return buffer
    }
}
