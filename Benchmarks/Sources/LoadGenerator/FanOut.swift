import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What all subscribers have seen, shared across event loops.
final class FanOutTally: Sendable {
    private struct State {
        var ready = 0
        var finished = 0
        var delivered = 0
        var lastDelivery: Int64 = 0
        var latencies: [Int64] = []
    }
    private let state = NIOLockedValueBox(State())

    func markReady() { state.withLockedValue { $0.ready += 1 } }
    var ready: Int { state.withLockedValue { $0.ready } }
    var finished: Int { state.withLockedValue { $0.finished } }

    func finish(delivered: Int, latencies: [Int64], last: Int64) {
        state.withLockedValue {
            $0.finished += 1
            $0.delivered += delivered
            $0.latencies += latencies
            $0.lastDelivery = max($0.lastDelivery, last)
        }
    }

    var summary: (delivered: Int, latencies: [Int64], last: Int64) {
        state.withLockedValue { ($0.delivered, $0.latencies, $0.lastDelivery) }
    }
}

/// One SSE subscriber: counts records (each carries `"t":<publish time>` in its data)
/// and their publish-to-receive latency until it has `expected` of them.
final class SSESubscriber: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let expected: Int
    let tally: FanOutTally
    private var headSeen = false
    private var carry: [UInt8] = []
    private var delivered = 0
    private var latencies: [Int64] = []
    private var last: Int64 = 0
    private var reported = false

    init(expected: Int, tally: FanOutTally) {
        self.expected = expected
        self.tally = tally
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(
            NIOAny(ByteBuffer(string: "GET /events HTTP/1.1\r\nHost: load\r\n\(authorizationLine)Accept: text/event-stream\r\n\r\n")), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = monotonicNanos()
        let buffer = unwrapInboundIn(data)
        if carry.isEmpty {
            let consumed = buffer.withUnsafeReadableBytes { scan($0, now: now) }
            buffer.withUnsafeReadableBytes { carry = Array($0[max(consumed, $0.count - 24)...]) }
        } else {
            var bytes = carry
            bytes.append(contentsOf: buffer.readableBytesView)
            let consumed = bytes.withUnsafeBytes { scan($0, now: now) }
            carry = Array(bytes[max(consumed, bytes.count - 24)...])
        }
        if delivered >= expected, headSeen, !reported {
            reported = true
            tally.finish(delivered: delivered, latencies: latencies, last: last)
            if expected > 0 { context.close(promise: nil) }
        }
    }

    /// Counts the records in `bytes` and notes their latency; returns where the last
    /// whole one ended (a number cut off at the end is counted with the next read).
    private func scan(_ bytes: UnsafeRawBufferPointer, now: Int64) -> Int {
        if !headSeen, bytes.count >= 12, bytes[9] == UInt8(ascii: "2") {
            headSeen = true
            tally.markReady()
        }
        var consumed = 0
        var index = 0
        let count = bytes.count
        while index + 4 < count {
            // `"t":` then digits then `,`
            guard bytes[index] == 0x22, bytes[index + 1] == 0x74, bytes[index + 2] == 0x22, bytes[index + 3] == 0x3A else {
                index += 1
                continue
            }
            var cursor = index + 4
            var value: Int64 = 0
            while cursor < count, bytes[cursor] >= 48, bytes[cursor] <= 57 {
                value = value &* 10 &+ Int64(bytes[cursor] - 48)
                cursor += 1
            }
            guard cursor < count else { break }
            delivered += 1
            last = now
            if bytes[cursor] == 0x2C { latencies.append(now - value) }
            index = cursor
            consumed = cursor
        }
        return consumed
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !reported {
            reported = true
            tally.finish(delivered: delivered, latencies: latencies, last: last)
        }
    }
}

/// Publishes records closed-loop on one connection, each stamped with its send time.
final class Publisher: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let count: Int
    let done: EventLoopPromise<Int>
    /// Nanoseconds between this publisher's records, or 0 to send each when the last is answered.
    let interval: Int64
    private var nextAt: Int64 = 0
    private var splitter = ResponseSplitter()
    private var sent = 0
    private var ok = 0
    private let pad = String(repeating: "p", count: 120)

    init(count: Int, done: EventLoopPromise<Int>, interval: Int64, offset: Int64) {
        self.count = count
        self.done = done
        self.interval = interval
        self.nextAt = monotonicNanos() + offset
    }

    func channelActive(context: ChannelHandlerContext) { sendWhenDue(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        for status in splitter.feed(&bytes) {
            if (200..<300).contains(status) { ok += 1 }  // nchan answers 201 or 202
            if sent < count { sendWhenDue(context) } else { context.close(promise: nil) }
        }
    }

    /// Sends now, or at the next slot of the pace when there is one.
    private func sendWhenDue(_ context: ChannelHandlerContext) {
        let wait = nextAt - monotonicNanos()
        nextAt += interval
        guard interval > 0, wait > 0 else { return send(context) }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .nanoseconds(wait)) { self.send(loopBound.value) }
    }

    func channelInactive(context: ChannelHandlerContext) { done.succeed(ok) }

    private func send(_ context: ChannelHandlerContext) {
        sent += 1
        let request = insertRequest(event: "fan-\(sent % 100)", data: #"{"t":\#(monotonicNanos()),"pad":"\#(pad)"}"#)
        context.writeAndFlush(NIOAny(request), promise: nil)
    }
}

enum FanOut {
    /// `rate` records/s in all (0: as fast as the server answers).
    static func run(_ target: Target, subscribers: Int, records: Int, publishers: Int, rate: Int) async throws {
        let tally = FanOutTally()
        var channels: [Channel] = []
        for index in 0..<subscribers {
            channels.append(try await target.connect(spread: index) { SSESubscriber(expected: records, tally: tally) })
        }
        guard try await waitUntil(seconds: 60, { tally.ready == subscribers }) else {
            print("only \(tally.ready) of \(subscribers) subscribers connected")
            exit(1)
        }
        let started = monotonicNanos()
        var published: [EventLoopFuture<Int>] = []
        for index in 0..<publishers {
            let share = records / publishers + (index < records % publishers ? 1 : 0)
            let promise = target.group.next().makePromise(of: Int.self)
            let interval = rate > 0 ? Int64(publishers) * 1_000_000_000 / Int64(rate) : 0
            let offset = rate > 0 ? Int64(index) * 1_000_000_000 / Int64(rate) : 0
            _ = try await target.connect(spread: index) { Publisher(count: share, done: promise, interval: interval, offset: offset) }
            published.append(promise.futureResult)
        }
        var acknowledged = 0
        for future in published { acknowledged += try await future.get() }
        let publishedAt = monotonicNanos()
        let complete = try await waitUntil(seconds: 120) { tally.finished == subscribers }
        for channel in channels { try? await channel.close() }
        var (delivered, latencies, last) = tally.summary
        latencies.sort()
        let seconds = Double(last - started) / 1e9
        print(
            "published \(acknowledged) records in \(milliseconds(publishedAt - started)); \(delivered) of \(subscribers * records) deliveries\(complete ? "" : " (timed out)")"
        )
        print(
            "deliveries/s: \(Int(Double(delivered) / seconds))  latency p50 \(milliseconds(percentile(latencies, 0.5))) p99 \(milliseconds(percentile(latencies, 0.99))) max \(milliseconds(latencies.last ?? 0))"
        )
    }
}
