import NIOCore

/// Starts each connection's receive buffer at 256 bytes instead of NIO's 2 KiB: the
/// HTTP decoder keeps the last buffer for the life of the connection, which for
/// thousands of idle SSE subscribers is memory spent on nothing. The buffer still
/// grows to 64 KiB for connections that send more. It removes itself once set.
final class SmallReceiveBuffers: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 64 << 10)
        context.channel.setOption(ChannelOptions.recvAllocator, value: allocator).whenComplete { _ in }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
