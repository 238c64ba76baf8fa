import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose event stream has had bytes waiting for the socket for
/// `timeout` without any of them being taken (SPEC.md 4.3, `--write-timeout-ms`): a
/// client whose TCP window stays closed, or an HTTP/2 stream whose flow-control
/// window never opens. Closing fails the stream's pending write, which ends the
/// stream and frees what its subscriber held.
///
/// Progress is a write completing: NIO completes a write when all its bytes are in
/// the socket (or, for HTTP/2, handed to the connection). Only the writes of an
/// `text/event-stream` response are watched, so other responses cost one check of
/// their head. One timer at most, armed while writes are outstanding.
final class StreamWriteTimeout: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let onTimeout: @Sendable () -> Void
    private var isStream = false
    private var outstandingWrites = 0
    private var lastProgress = NIODeadline.now()
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data) { isStream = Self.isEventStream(head) }
        guard isStream else { return context.write(data, promise: promise) }
        let promise = promise ?? context.eventLoop.makePromise()
        if outstandingWrites == 0 { lastProgress = .now() }
        outstandingWrites += 1
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.outstandingWrites -= 1
            self.lastProgress = .now()
        }
        armCheck(context)
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    private func armCheck(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        let loop = context.eventLoop.assumeIsolated()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        check = loop.scheduleTask(deadline: lastProgress + timeout) {
            self.check = nil
            self.checkProgress(bound.value)
        }
    }

    private func checkProgress(_ context: ChannelHandlerContext) {
        // Nothing waiting for the socket: the timer rests until the next write.
        guard outstandingWrites > 0 else { return }
        guard NIODeadline.now() - lastProgress >= timeout else { return armCheck(context) }
        onTimeout()
        context.close(promise: nil)
    }

    private static func isEventStream(_ head: HTTPResponse) -> Bool {
        head.headerFields.contains { $0.name == .contentType && $0.value.hasPrefix("text/event-stream") }
    }
}
