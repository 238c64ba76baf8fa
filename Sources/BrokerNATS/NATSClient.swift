import Foundation
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix

/// A NATS client over SwiftNIO, scoped to what Broker uses: publish (with headers),
/// subscribe, request and reply through one wildcard inbox, PING/PONG flushes, and
/// reconnecting across a list of servers by itself. Subscriptions outlive
/// connections: each is sent again to every new connection.
///
/// Everything sent goes through one outbound buffer: what callers send while a
/// write is scheduled goes with that write, so concurrent publishes cost the
/// server and this process one read and one write for many, not one each.
public final class NATSClient: Sendable {
    public struct Options: Sendable {
        public var servers: [NATSServerAddress]
        /// Sent in CONNECT, shown by the server's monitoring.
        public var name: String
        /// The pause between rounds of the server list while none answers.
        public var reconnectWait: Duration
        /// How long a TCP connect plus the INFO/CONNECT/PING handshake may take.
        public var connectTimeout: Duration

        public init(
            servers: [NATSServerAddress], name: String = "broker", reconnectWait: Duration = .milliseconds(250),
            connectTimeout: Duration = .seconds(2)
        ) {
            self.servers = servers
            self.name = name
            self.reconnectWait = reconnectWait
            self.connectTimeout = connectTimeout
        }
    }

    /// Called on an event loop with each message of a subscription, in order.
    public typealias Handler = @Sendable (NATSMessage) -> Void

    private struct Subscription {
        let subject: String
        let handler: Handler
    }

    private struct State {
        var channel: (any Channel)?
        var subscriptions: [UInt64: Subscription] = [:]
        var nextSubscriptionID: UInt64 = 0
        var requests: [UInt64: PendingRequest] = [:]
        var nextRequestToken: UInt64 = 0
        var flushes: [CheckedContinuation<Result<Void, NATSError>, Never>] = []
        var connectedServer: NATSServerAddress?
        var connections: Int = 0
        var isClosed = false
        var statusWatchers: [UInt64: @Sendable (Bool) -> Void] = [:]
        /// Bytes sent since the last write to `channel`, and whether that write is scheduled.
        var outbound: ByteBuffer?
        var isWriteScheduled = false
        /// The subscriptions the greeting of the connection being made sent: what is
        /// subscribed or unsubscribed after it is sent once the connection is up.
        var greetedSubscriptions: Set<UInt64> = []
    }

    private struct PendingRequest {
        let waiter: CheckedContinuation<Result<NATSMessage, NATSError>, Never>
        let subject: String
        let deadline: NIODeadline
    }

    /// How often requests past their deadline are failed: a request's timeout is
    /// honoured to within this.
    static let requestSweep = TimeAmount.milliseconds(50)

    public let options: Options
    private let state = NIOLockedValueBox(State())
    private let group: any EventLoopGroup
    private let logger: Logger
    private let inboxPrefix: String
    private let runner = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let sweeper = NIOLockedValueBox<RepeatedTask?>(nil)

    public init(options: Options, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.options = options
        self.logger = logger
        self.group = group
        self.inboxPrefix = "_INBOX.\(Self.randomToken())."
    }

    /// Starts connecting (and reconnecting whenever the connection is lost), in the
    /// background, until ``close()``.
    public func start() {
        _ = subscribe(inboxPrefix + "*") { [weak self] message in self?.answer(message) }
        let task = Task { [self] in await self.keepConnected() }
        runner.withLockedValue { $0 = task }
        let sweep = group.next().scheduleRepeatedTask(initialDelay: Self.requestSweep, delay: Self.requestSweep) { [weak self] _ in
            self?.expireRequests(at: .now())
        }
        sweeper.withLockedValue { $0 = sweep }
    }

    /// Waits until a connection is up, at most `timeout`.
    public func waitUntilConnected(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isConnected { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isConnected
    }

    public var isConnected: Bool { state.withLockedValue { $0.channel != nil } }

    /// The server of the current connection.
    public var connectedServer: NATSServerAddress? { state.withLockedValue { $0.connectedServer } }

    /// How many connections were made since start: more than one means it reconnected.
    public var connectionCount: Int { state.withLockedValue { $0.connections } }

    /// Calls `watcher(true)` after each connection is made and `watcher(false)` after
    /// each is lost, on an event loop.
    @discardableResult
    public func watchConnection(_ watcher: @escaping @Sendable (Bool) -> Void) -> UInt64 {
        state.withLockedValue { state in
            state.nextSubscriptionID += 1
            state.statusWatchers[state.nextSubscriptionID] = watcher
            return state.nextSubscriptionID
        }
    }

    /// Closes the connection and stops reconnecting; waiting calls fail with ``NATSError/closed``.
    public func close() async {
        let channel = state.withLockedValue { state -> (any Channel)? in
            state.isClosed = true
            return state.channel
        }
        try? await channel?.close()
        sweeper.withLockedValue { $0?.cancel() }
        runner.withLockedValue { $0?.cancel() }
        await runner.withLockedValue { $0 }?.value
        failWaiting(with: .closed)
    }

    // MARK: Publishing and subscribing

    /// Sends a message; fails at once when not connected (nothing is queued across a reconnect).
    public func publish(_ subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil, payload: [UInt8]) throws(NATSError) {
        try ProtocolText.checkSubject(subject)
        if let replyTo { try ProtocolText.checkSubject(replyTo) }
        if let headers { try ProtocolText.checkHeaders(headers) }
        let sent = send { buffer in
            ClientOperation.publish(subject: subject, replyTo: replyTo, headers: headers, payload: payload, into: &buffer)
        }
        if !sent { throw .notConnected }
    }

    /// Adds what `write` writes to the outbound buffer of the current connection and
    /// makes sure a write of that buffer is scheduled on its event loop; false when
    /// there is no connection (nothing is kept for the next one).
    @discardableResult
    private func send(_ write: (inout ByteBuffer) -> Void) -> Bool {
        let (connected, scheduleOn) = state.withLockedValue { state -> (Bool, (any Channel)?) in
            guard let channel = state.channel else { return (false, nil) }
            return (true, Self.enqueue(write, on: channel, in: &state) ? channel : nil)
        }
        if let channel = scheduleOn { scheduleWrite(on: channel) }
        return connected
    }

    /// Adds to `channel`'s outbound buffer; true when the caller must schedule its write.
    private static func enqueue(_ write: (inout ByteBuffer) -> Void, on channel: any Channel, in state: inout State) -> Bool {
        var outbound = state.outbound ?? channel.allocator.buffer(capacity: 1024)
        state.outbound = nil  // unique while written to, so it grows in place
        write(&outbound)
        state.outbound = outbound
        if state.isWriteScheduled { return false }
        state.isWriteScheduled = true
        return true
    }

    private func scheduleWrite(on channel: any Channel) {
        channel.eventLoop.execute { self.writeOutbound(to: channel) }
    }

    /// Writes and flushes what was sent since the last write, on `channel`'s event loop.
    private func writeOutbound(to channel: any Channel) {
        let buffer = state.withLockedValue { state -> ByteBuffer? in
            guard state.channel === channel else { return nil }
            state.isWriteScheduled = false
            defer { state.outbound = nil }
            return state.outbound
        }
        if let buffer { channel.writeAndFlush(buffer, promise: nil) }
    }

    /// Subscribes `handler` to `subject` (wildcards allowed) on this and every later
    /// connection; returns the subscription's id for ``unsubscribe(_:)``.
    public func subscribe(_ subject: String, handler: @escaping Handler) -> UInt64 {
        let id = state.withLockedValue { state in
            state.nextSubscriptionID += 1
            state.subscriptions[state.nextSubscriptionID] = Subscription(subject: subject, handler: handler)
            return state.nextSubscriptionID
        }
        // Without a connection, the next one's greeting sends it, or (mid-handshake) that connection once it is up.
        send { $0.writeString(ClientOperation.subscribe(subject: subject, id: id)) }
        return id
    }

    public func unsubscribe(_ id: UInt64) {
        guard state.withLockedValue({ $0.subscriptions.removeValue(forKey: id) }) != nil else { return }
        send { $0.writeString(ClientOperation.unsubscribe(id: id)) }
    }

    /// A fresh subject no one else uses, for a consumer's deliveries.
    public func newInbox() -> String { "_INBOX.\(Self.randomToken())" }

    /// Publishes with a reply subject and waits for the one answer. A `503` status
    /// answer (nobody subscribed) is ``NATSError/noResponders(subject:)``.
    public func request(_ subject: String, headers: NATSHeaders? = nil, payload: [UInt8], timeout: Duration) async throws(NATSError)
        -> NATSMessage
    {
        let token = state.withLockedValue { state in
            state.nextRequestToken += 1
            return state.nextRequestToken
        }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let result = await withCheckedContinuation { (waiter: CheckedContinuation<Result<NATSMessage, NATSError>, Never>) in
            let closed = state.withLockedValue { state in
                if !state.isClosed { state.requests[token] = PendingRequest(waiter: waiter, subject: subject, deadline: deadline) }
                return state.isClosed
            }
            if closed { return waiter.resume(returning: .failure(.closed)) }
            do throws(NATSError) {
                try publish(subject, replyTo: inboxPrefix + String(token), headers: headers, payload: payload)
            } catch {
                complete(token, with: .failure(error))
            }
        }
        let message = try result.get()
        if message.headers?.status == 503 { throw .noResponders(subject: subject) }
        return message
    }

    /// Waits until the server has processed everything sent before (a PING's PONG).
    public func flush(timeout: Duration = .seconds(5)) async throws(NATSError) {
        let result = await withCheckedContinuation { (waiter: CheckedContinuation<Result<Void, NATSError>, Never>) in
            // Registered before the PING is sent, so its PONG always finds it.
            let registered = state.withLockedValue { state in
                guard state.channel != nil else { return false }
                state.flushes.append(waiter)
                return true
            }
            guard registered else { return waiter.resume(returning: .failure(.notConnected)) }
            // Should the connection be lost before the PING goes, failWaiting answers.
            send { $0.writeString(ClientOperation.ping) }
        }
        try result.get()
    }

    private func answer(_ message: NATSMessage) {
        guard message.subject.hasPrefix(inboxPrefix), let token = UInt64(message.subject.dropFirst(inboxPrefix.count)) else { return }
        complete(token, with: .success(message))
    }

    private func complete(_ token: UInt64, with result: Result<NATSMessage, NATSError>) {
        let request = state.withLockedValue { $0.requests.removeValue(forKey: token) }
        request?.waiter.resume(returning: result)
    }

    /// Fails the requests whose deadline has passed (one sweep for all, rather than a
    /// scheduled task per request).
    private func expireRequests(at now: NIODeadline) {
        let expired = state.withLockedValue { state -> [PendingRequest] in
            let tokens = state.requests.compactMap { $0.value.deadline <= now ? $0.key : nil }
            return tokens.compactMap { state.requests.removeValue(forKey: $0) }
        }
        for request in expired { request.waiter.resume(returning: .failure(.timeout(subject: request.subject))) }
    }

    // MARK: Connections

    private func keepConnected() async {
        var next = 0
        while !Task.isCancelled, !state.withLockedValue({ $0.isClosed }) {
            let server = options.servers[next % options.servers.count]
            next += 1
            do {
                let channel = try await connect(to: server)
                try? await channel.closeFuture.get()
                lost(channel, server: server)
                continue
            } catch {
                logger.debug("NATS \(server) refused: \(error)")
            }
            // A pause after each full round of servers that did not answer.
            if next % options.servers.count == 0 { try? await Task.sleep(for: options.reconnectWait) }
        }
    }

    private func connect(to server: NATSServerAddress) async throws -> any Channel {
        let handshake = group.next().makePromise(of: Void.self)
        let connectJSON = connectLine(for: server)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(options.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ServerOperationDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        NATSConnectionHandler(client: self, connectLine: connectJSON, handshake: handshake))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: server.host, port: server.port).get()
        } catch {
            handshake.fail(error)
            throw error
        }
        let timeout = channel.eventLoop.scheduleTask(in: TimeAmount(options.connectTimeout)) {
            handshake.fail(NATSError.timeout(subject: "CONNECT"))
        }
        do {
            try await handshake.futureResult.get()
            timeout.cancel()
        } catch {
            timeout.cancel()
            try? await channel.close()
            throw error
        }
        let (watchers, mustWrite) = state.withLockedValue { state -> ([@Sendable (Bool) -> Void], Bool) in
            state.channel = channel
            state.connectedServer = server
            state.connections += 1
            let changes = Self.subscriptionChangesSinceGreeting(state)
            let schedule = !changes.isEmpty && Self.enqueue({ $0.writeString(changes) }, on: channel, in: &state)
            return (Array(state.statusWatchers.values), schedule)
        }
        if mustWrite { scheduleWrite(on: channel) }
        if state.withLockedValue({ $0.isClosed }) { try? await channel.close() }
        logger.info("connected to NATS at \(server)")
        for watcher in watchers { watcher(true) }
        return channel
    }

    /// SUB and UNSUB for what changed while the greeting was on its way (it had no
    /// connection to go to then).
    private static func subscriptionChangesSinceGreeting(_ state: State) -> String {
        let current = Set(state.subscriptions.keys)
        let added = current.subtracting(state.greetedSubscriptions).sorted()
        let removed = state.greetedSubscriptions.subtracting(current).sorted()
        return added.compactMap { id in state.subscriptions[id].map { ClientOperation.subscribe(subject: $0.subject, id: id) } }.joined()
            + removed.map { ClientOperation.unsubscribe(id: $0) }.joined()
    }

    private func lost(_ channel: any Channel, server: NATSServerAddress) {
        let (watchers, closed) = state.withLockedValue { state -> ([@Sendable (Bool) -> Void], Bool) in
            if state.channel === channel {
                state.channel = nil
                state.connectedServer = nil
                state.outbound = nil
                state.isWriteScheduled = false
            }
            return (Array(state.statusWatchers.values), state.isClosed)
        }
        // What was waiting for an answer on this connection will not get it.
        failWaiting(with: closed ? .closed : .notConnected)
        if !closed { logger.warning("lost the NATS connection to \(server); reconnecting") }
        for watcher in watchers { watcher(false) }
    }

    private func failWaiting(with error: NATSError) {
        let (requests, flushes) = state.withLockedValue { state in
            defer {
                state.requests.removeAll()
                state.flushes.removeAll()
            }
            return (Array(state.requests.values), state.flushes)
        }
        for request in requests { request.waiter.resume(returning: .failure(error)) }
        for flush in flushes { flush.resume(returning: .failure(error)) }
    }

    /// The CONNECT options, with the protocol's field names: headers on, and a 503
    /// status answer for a request nobody listens to.
    private struct ConnectOptions: Encodable {
        let verbose = false
        let pedantic = false
        let headers = true
        let noResponders = true
        let `protocol` = 1
        let lang = "swift"
        let version = "1.0"
        let name: String
        let user: String?
        let pass: String?
        let authToken: String?
    }

    private func connectLine(for server: NATSServerAddress) -> String {
        let connect = ConnectOptions(name: options.name, user: server.user, pass: server.password, authToken: server.token)
        let json = (try? JetStream.encoder.encode(connect)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ClientOperation.connect(json)
    }

    // MARK: Called by the connection handler, on its event loop

    /// The CONNECT line, every subscription and a PING: the handshake after INFO.
    fileprivate func greeting(connectLine: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(string: connectLine)
        let subscriptions = state.withLockedValue { state in
            state.greetedSubscriptions = Set(state.subscriptions.keys)
            return state.subscriptions
        }
        for (id, subscription) in subscriptions.sorted(by: { $0.key < $1.key }) {
            buffer.writeString(ClientOperation.subscribe(subject: subscription.subject, id: id))
        }
        buffer.writeString(ClientOperation.ping)
        return buffer
    }

    fileprivate func deliver(_ message: NATSMessage) {
        let handler = state.withLockedValue { $0.subscriptions[message.subscriptionID]?.handler }
        handler?(message)
    }

    fileprivate func pong() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Result<Void, NATSError>, Never>? in
            state.flushes.isEmpty ? nil : state.flushes.removeFirst()
        }
        waiter?.resume(returning: .success(()))
    }

    fileprivate func serverError(_ text: String) {
        logger.warning("NATS server error: \(text)")
    }

    static func randomToken() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return String((0..<22).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

/// One connection's inbound side: the handshake (INFO, then CONNECT, the
/// subscriptions and a PING whose PONG completes it), PONG for each PING, and each
/// message handed to the client.
private final class NATSConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ServerOperation

    private let client: NATSClient
    private let connectLine: String
    private let handshake: EventLoopPromise<Void>
    private var phase = Phase.awaitingInfo

    private enum Phase { case awaitingInfo, awaitingPong, ready }

    init(client: NATSClient, connectLine: String, handshake: EventLoopPromise<Void>) {
        self.client = client
        self.connectLine = connectLine
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .info:
            if phase == .awaitingInfo {
                phase = .awaitingPong
                context.writeAndFlush(
                    NIOAny(client.greeting(connectLine: connectLine, allocator: context.channel.allocator)), promise: nil)
            }
        case .ping:
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: ClientOperation.pong)), promise: nil)
        case .pong:
            if phase == .awaitingPong {
                phase = .ready
                handshake.succeed(())
            } else {
                client.pong()
            }
        case .message(let message):
            client.deliver(message)
        case .ok:
            break
        case .error(let text):
            client.serverError(text)
            if phase != .ready { handshake.fail(NATSError.serverError(text)) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(NATSError.notConnected)
        context.fireChannelInactive()
    }
}
