public import Logging
import NIOConcurrencyHelpers

/// An ordered push consumer: every message of a stream (or of one filter subject)
/// from a start seq, in order, with no gap and no repeat, for as long as it runs.
/// JetStream's side is an ephemeral, unacknowledged, in-memory consumer with flow
/// control and idle heartbeats; whenever a delivery is missed (a consumer seq out of
/// step, heartbeats gone silent, the connection lost, the consumer deleted by a
/// failover), it is replaced by a new one starting after the last stream seq handed
/// out. Flow-control requests and stall notices are answered as they arrive.
///
/// Each delivery is handed to `onDelivery` on the connection's event loop, with no
/// task switch (a front applies every record of the stream this way); ``stream(jetStream:stream:filterSubject:startSeq:heartbeat:logger:)``
/// gives them as an `AsyncStream` instead.
public final class OrderedConsumer: Sendable {
    /// What the reader is handed: a stored message, and how many more the stream had
    /// for this consumer when it was delivered (0: caught up).
    public struct Delivery: Sendable {
        public let message: JetStream.StoredMessage
        public let pending: UInt64
    }

    private struct State {
        /// Bumped at each reset: deliveries to an older subscription are ignored.
        var generation: UInt64 = 0
        var subscription: UInt64?
        var consumerName: String?
        /// The next consumer seq expected, and the last stream seq handed out.
        var nextConsumerSeq: UInt64 = 1
        var lastStreamSeq: UInt64
        var lastActivity = ContinuousClock.now
        var resetting = false
        var isStopped = false
    }

    private let jetStream: JetStream
    private let stream: String
    private let filterSubject: String?
    private let heartbeat: Duration
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    private let onDelivery: @Sendable (Delivery) -> Void
    private let onStop: @Sendable () -> Void
    private let watchdog = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// A consumer that hands each delivery, in stream order, to `onDelivery` (called
    /// on an event loop: it must not block), and calls `onStop` once stopped.
    public init(
        jetStream: JetStream, stream: String, filterSubject: String? = nil, startSeq: UInt64, heartbeat: Duration, logger: Logger,
        onDelivery: @escaping @Sendable (Delivery) -> Void, onStop: @escaping @Sendable () -> Void = {}
    ) {
        self.jetStream = jetStream
        self.stream = stream
        self.filterSubject = filterSubject
        self.heartbeat = heartbeat
        self.logger = logger
        self.state = NIOLockedValueBox(State(lastStreamSeq: startSeq > 0 ? startSeq - 1 : 0))
        self.onDelivery = onDelivery
        self.onStop = onStop
    }

    /// A consumer whose deliveries, in stream order, are the returned stream (unbounded
    /// here, bounded by flow control upstream); it finishes when the consumer stops.
    public static func stream(
        jetStream: JetStream, stream: String, filterSubject: String? = nil, startSeq: UInt64, heartbeat: Duration, logger: Logger
    ) -> (OrderedConsumer, AsyncStream<Delivery>) {
        let (deliveries, continuation) = AsyncStream<Delivery>.makeStream(bufferingPolicy: .unbounded)
        let consumer = OrderedConsumer(
            jetStream: jetStream, stream: stream, filterSubject: filterSubject, startSeq: startSeq, heartbeat: heartbeat, logger: logger,
            onDelivery: { continuation.yield($0) }, onStop: { continuation.finish() })
        return (consumer, deliveries)
    }

    /// The last stream seq handed out.
    public var lastStreamSeq: UInt64 { state.withLockedValue { $0.lastStreamSeq } }

    /// Creates the consumer (retrying until the stream answers) and starts watching it.
    public func start() {
        jetStream.client.watchConnection { [weak self] connected in
            if connected { self?.scheduleReset(reason: "reconnected") }
        }
        scheduleReset(reason: "start")
        let task = Task { [weak self, heartbeat] in
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                guard let self else { return }
                let silent = self.state.withLockedValue { ContinuousClock.now - $0.lastActivity > heartbeat * 3 && !$0.resetting }
                if silent { self.scheduleReset(reason: "no heartbeat for \(heartbeat * 3)") }
            }
        }
        watchdog.withLockedValue { $0 = task }
    }

    public func stop() {
        let (subscription, name, wasStopped) = state.withLockedValue { state in
            defer { state.isStopped = true }
            state.generation += 1
            return (state.subscription, state.consumerName, state.isStopped)
        }
        watchdog.withLockedValue { $0?.cancel() }
        if let subscription { jetStream.client.unsubscribe(subscription) }
        if !wasStopped { onStop() }
        if let name { Task { [jetStream, stream] in try? await jetStream.deleteConsumer(stream: stream, name: name) } }
    }

    private func scheduleReset(reason: String) {
        let begin = state.withLockedValue { state -> Bool in
            guard !state.isStopped, !state.resetting else { return false }
            state.resetting = true
            return true
        }
        guard begin else { return }
        Task { await self.reset(reason: reason) }
    }

    /// Replaces the JetStream consumer with one starting after the last stream seq
    /// handed out, retrying until it is made or the consumer stops.
    private func reset(reason: String) async {
        var attempt = 0
        while true {
            let (generation, startSeq, old, oldName) = state.withLockedValue { state in
                state.generation += 1
                let old = state.subscription
                let name = state.consumerName
                state.subscription = nil
                state.consumerName = nil
                state.nextConsumerSeq = 1
                return (state.generation, state.lastStreamSeq + 1, old, name)
            }
            if let old { jetStream.client.unsubscribe(old) }
            if let oldName { Task { [jetStream, stream] in try? await jetStream.deleteConsumer(stream: stream, name: oldName) } }
            if state.withLockedValue({ $0.isStopped }) { return }
            let inbox = jetStream.client.newInbox()
            let subscription = jetStream.client.subscribe(inbox) { [weak self] message in self?.receive(message, generation: generation) }
            state.withLockedValue { $0.subscription = subscription }
            do {
                let configuration = ConsumerConfiguration(
                    deliverSubject: inbox, startSeq: startSeq, filterSubject: filterSubject, heartbeat: heartbeat)
                let name = try await jetStream.createConsumer(stream: stream, configuration)
                let current = state.withLockedValue { state -> Bool in
                    guard state.generation == generation else { return false }
                    state.consumerName = name
                    state.resetting = false
                    state.lastActivity = .now
                    return true
                }
                if current { logger.debug("JetStream consumer \(name) on \(stream) from seq \(startSeq) (\(reason))") }
                return
            } catch {
                attempt += 1
                if attempt == 1 || attempt % 20 == 0 {
                    logger.warning("could not create a JetStream consumer on \(stream) (\(reason)): \(error); retrying")
                }
                try? await Task.sleep(for: .milliseconds(min(50 * attempt, 500)))
            }
        }
    }

    /// One delivery on the current inbox, on an event loop.
    private func receive(_ message: NATSMessage, generation: UInt64) {
        if let headers = message.headers, let status = headers.status {
            control(message, headers: headers, status: status, generation: generation)
            return
        }
        guard let reply = message.replyTo, let ack = AckReply(reply) else {
            scheduleReset(reason: "a delivery without JetStream metadata")
            return
        }
        let outcome = state.withLockedValue { state -> Bool? in
            guard state.generation == generation, !state.isStopped else { return nil }
            state.lastActivity = .now
            guard ack.consumerSeq == state.nextConsumerSeq, ack.streamSeq > state.lastStreamSeq else { return false }
            state.nextConsumerSeq += 1
            state.lastStreamSeq = ack.streamSeq
            // Handed over under the lock, so that deliveries keep their order.
            onDelivery(
                Delivery(
                    message: JetStream.StoredMessage(
                        subject: message.subject, seq: ack.streamSeq, timeNanoseconds: ack.timeNanoseconds, headers: nil, payload: message.payload),
                    pending: ack.pending))
            return true
        }
        if outcome == false { scheduleReset(reason: "consumer seq \(ack.consumerSeq) out of order") }
    }

    /// A status message: heartbeat (checked against what was delivered), flow
    /// control (answered), or anything else (the consumer is gone: replaced).
    private func control(_ message: NATSMessage, headers: NATSHeaders, status: Int, generation: UInt64) {
        let current = state.withLockedValue { state -> UInt64? in
            guard state.generation == generation else { return nil }
            state.lastActivity = .now
            return state.nextConsumerSeq - 1
        }
        guard let delivered = current else { return }
        guard status == 100 else {
            scheduleReset(reason: "status \(status) \(headers.statusDescription)")
            return
        }
        if let reply = message.replyTo { try? jetStream.client.publish(reply, payload: []) }
        if let stalled = headers["Nats-Consumer-Stalled"] { try? jetStream.client.publish(stalled, payload: []) }
        if let last = headers["Nats-Last-Consumer"].flatMap(UInt64.init), last != delivered {
            scheduleReset(reason: "heartbeat says consumer seq \(last), \(delivered) delivered")
        }
    }
}

/// A JetStream delivery's reply subject:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time ns>.<pending>`
/// (newer servers put a domain and account hash before the stream: read from the end).
struct AckReply {
    let streamSeq: UInt64
    let consumerSeq: UInt64
    let timeNanoseconds: Int64
    let pending: UInt64

    init?(_ subject: String) {
        let tokens = subject.split(separator: ".")
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        let n = tokens.count
        guard let streamSeq = UInt64(tokens[n - 4]), let consumerSeq = UInt64(tokens[n - 3]), let time = Int64(tokens[n - 2]),
            let pending = UInt64(tokens[n - 1])
        else { return nil }
        self.streamSeq = streamSeq
        self.consumerSeq = consumerSeq
        self.timeNanoseconds = time
        self.pending = pending
    }
}
