// A small SwiftNIO load generator for a running `broker serve` on loopback: closed-loop
// POST /insert over keep-alive connections, SSE fan-out with publish-to-receive
// latency, and idle subscribers' memory. Raw HTTP/1.1 bytes on both sides keep the
// generator's own CPU cost low: it shares the machine with the server.
//
//   LoadGenerator insert PORT [CONNECTIONS] [SECONDS]
//   LoadGenerator fanout PORT [SUBSCRIBERS] [RECORDS] [PUBLISHERS] [RECORDS_PER_SECOND]
//   LoadGenerator idle PORT SERVER_PID [SUBSCRIBERS]
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

@main
enum LoadGenerator {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let mode = arguments.first, let port = arguments.dropFirst().first.flatMap({ Int($0) }) else {
            print("usage: LoadGenerator insert PORT [CONNECTIONS] [SECONDS] | fanout PORT [SUBSCRIBERS] [RECORDS] [PUBLISHERS] [RECORDS_PER_SECOND] | idle PORT SERVER_PID [SUBSCRIBERS]")
            exit(2)
        }
        let numbers = arguments.dropFirst(2).compactMap { Int($0) }
        func number(_ index: Int, _ fallback: Int) -> Int { index < numbers.count ? numbers[index] : fallback }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let target = Target(group: group, port: port)
        switch mode {
        case "insert": try await InsertLoad.run(target, connections: number(0, 32), seconds: number(1, 10))
        case "fanout":
            try await FanOut.run(target, subscribers: number(0, 1000), records: number(1, 1000), publishers: number(2, 4), rate: number(3, 0))
        case "idle": try await IdleSubscribers.run(target, serverPID: number(0, 0), subscribers: number(1, 10_000))
        default: print("unknown mode \(mode)"); exit(2)
        }
        try await group.shutdownGracefully()
    }
}

/// Where to connect.
struct Target {
    let group: MultiThreadedEventLoopGroup
    let port: Int

    func connect(_ handler: @escaping @Sendable () -> ChannelHandler) async throws -> Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler()) } }
            .connect(host: "127.0.0.1", port: port).get()
    }
}

/// Nanoseconds of CLOCK_MONOTONIC.
func monotonicNanos() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func milliseconds(_ nanos: Int64) -> String { decimal(Double(nanos) / 1e6) + " ms" }

/// `value` with two decimals.
func decimal(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = String(hundredths % 100)
    return "\(hundredths / 100).\(fraction.count == 1 ? "0" : "")\(fraction)"
}

/// A POST /insert request with `data` as the record's JSON.
func insertRequest(event: String, data: String) -> ByteBuffer {
    let body = #"{"event":"\#(event)","data":\#(data)}"#
    return ByteBuffer(string: "POST /insert HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
}

/// Splits HTTP/1.1 responses with a Content-Length body off a byte stream, reading
/// only the status and the Content-Length field (no Strings: this runs per response).
struct ResponseSplitter {
    private var pending = ByteBuffer()
    private static let contentLength = Array("content-length:".utf8)

    /// Adds bytes and returns the status of each response they complete.
    mutating func feed(_ bytes: inout ByteBuffer) -> [Int] {
        pending.writeBuffer(&bytes)
        var statuses: [Int] = []
        while let (status, size) = pending.withUnsafeReadableBytes({ Self.response(in: $0) }) {
            statuses.append(status)
            pending.moveReaderIndex(forwardBy: size)
        }
        pending.discardReadBytes()
        return statuses
    }

    /// The status and whole size of the first response, when all of it is in `bytes`.
    private static func response(in bytes: UnsafeRawBufferPointer) -> (Int, Int)? {
        guard bytes.count >= 16 else { return nil }
        var length = 0
        var lineStart = 0
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == 0x0D, bytes[index + 1] == 0x0A else { index += 1; continue }
            if index == lineStart {  // the empty line: the head ends here
                let size = index + 2 + length
                guard size <= bytes.count else { return nil }
                let status = (Int(bytes[9]) - 48) * 100 + (Int(bytes[10]) - 48) * 10 + Int(bytes[11]) - 48
                return (status, size)
            }
            if index - lineStart > contentLength.count,
               zip(bytes[lineStart..<(lineStart + contentLength.count)], contentLength).allSatisfy({ $0 | 0x20 == $1 }) {
                length = 0
                for byte in bytes[(lineStart + contentLength.count)..<index] where byte >= 48 && byte <= 57 {
                    length = length * 10 + Int(byte - 48)
                }
            }
            index += 2
            lineStart = index
        }
        return nil
    }
}

// MARK: Inserts

/// One keep-alive connection sending inserts back to back until a deadline.
final class InsertClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let requests: [ByteBuffer]
    let deadline: Int64
    let done: EventLoopPromise<(ok: Int, failed: Int, latencies: [Int64])>
    private var splitter = ResponseSplitter()
    private var next = 0
    private var sentAt: Int64 = 0
    private var ok = 0
    private var failed = 0
    private var latencies: [Int64] = []

    init(requests: [ByteBuffer], deadline: Int64, done: EventLoopPromise<(ok: Int, failed: Int, latencies: [Int64])>, first: Int) {
        self.requests = requests
        self.deadline = deadline
        self.done = done
        self.next = first
    }

    func channelActive(context: ChannelHandlerContext) { send(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        for status in splitter.feed(&bytes) {
            latencies.append(monotonicNanos() - sentAt)
            if status == 200 { ok += 1 } else { failed += 1 }
            if monotonicNanos() < deadline { send(context) } else { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) { done.succeed((ok, failed, latencies)) }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

    private func send(_ context: ChannelHandlerContext) {
        sentAt = monotonicNanos()
        context.writeAndFlush(NIOAny(requests[next % requests.count]), promise: nil)
        next += 1
    }
}

enum InsertLoad {
    static func run(_ target: Target, connections: Int, seconds: Int) async throws {
        let pad = String(repeating: "x", count: 150)
        let requests = (0..<1000).map { insertRequest(event: "load-\($0)", data: #"{"n":\#($0),"pad":"\#(pad)"}"#) }
        let started = monotonicNanos()
        let deadline = started + Int64(seconds) * 1_000_000_000
        var results: [EventLoopFuture<(ok: Int, failed: Int, latencies: [Int64])>] = []
        for index in 0..<connections {
            let promise = target.group.next().makePromise(of: (ok: Int, failed: Int, latencies: [Int64]).self)
            _ = try await target.connect { InsertClient(requests: requests, deadline: deadline, done: promise, first: index * 31) }
            results.append(promise.futureResult)
        }
        var ok = 0, failed = 0
        var latencies: [Int64] = []
        for result in results {
            let value = try await result.get()
            ok += value.ok
            failed += value.failed
            latencies += value.latencies
        }
        let elapsed = Double(monotonicNanos() - started) / 1e9
        latencies.sort()
        print("inserts: \(ok) ok, \(failed) failed in \(decimal(elapsed)) s over \(connections) connections")
        print("requests/s: \(Int(Double(ok) / elapsed))  latency p50 \(milliseconds(percentile(latencies, 0.5))) p99 \(milliseconds(percentile(latencies, 0.99)))")
    }
}

// MARK: Subscribers

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
        context.writeAndFlush(NIOAny(ByteBuffer(string: "GET /events HTTP/1.1\r\nHost: load\r\nAccept: text/event-stream\r\n\r\n")), promise: nil)
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
            if status == 200 { ok += 1 }
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

/// Waits until `condition` holds, checking every 10 ms, at most `seconds`.
func waitUntil(seconds: Int, _ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<(seconds * 100) {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

enum FanOut {
    /// `rate` records/s in all (0: as fast as the server answers).
    static func run(_ target: Target, subscribers: Int, records: Int, publishers: Int, rate: Int) async throws {
        let tally = FanOutTally()
        var channels: [Channel] = []
        for _ in 0..<subscribers { channels.append(try await target.connect { SSESubscriber(expected: records, tally: tally) }) }
        guard try await waitUntil(seconds: 60, { tally.ready == subscribers }) else {
            print("only \(tally.ready) of \(subscribers) subscribers connected"); exit(1)
        }
        let started = monotonicNanos()
        var published: [EventLoopFuture<Int>] = []
        for index in 0..<publishers {
            let share = records / publishers + (index < records % publishers ? 1 : 0)
            let promise = target.group.next().makePromise(of: Int.self)
            let interval = rate > 0 ? Int64(publishers) * 1_000_000_000 / Int64(rate) : 0
            let offset = rate > 0 ? Int64(index) * 1_000_000_000 / Int64(rate) : 0
            _ = try await target.connect { Publisher(count: share, done: promise, interval: interval, offset: offset) }
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
        print("published \(acknowledged) records in \(milliseconds(publishedAt - started)); \(delivered) of \(subscribers * records) deliveries\(complete ? "" : " (timed out)")")
        print("deliveries/s: \(Int(Double(delivered) / seconds))  latency p50 \(milliseconds(percentile(latencies, 0.5))) p99 \(milliseconds(percentile(latencies, 0.99))) max \(milliseconds(latencies.last ?? 0))")
    }
}

enum IdleSubscribers {
    static func residentMB(_ pid: Int) -> Double {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmRSS:") { return Double(text.split(separator: " ")[1]).map { $0 / 1024 } ?? 0 }
        }
        return 0
    }

    static func run(_ target: Target, serverPID: Int, subscribers: Int) async throws {
        let before = residentMB(serverPID)
        let tally = FanOutTally()
        var channels: [Channel] = []
        for _ in 0..<subscribers { channels.append(try await target.connect { SSESubscriber(expected: 0, tally: tally) }) }
        let connected = try await waitUntil(seconds: 60) { tally.ready == subscribers }
        try await Task.sleep(for: .seconds(1))
        let after = residentMB(serverPID)
        print("\(tally.ready) of \(subscribers) idle subscribers\(connected ? "" : " (timed out)"): server RSS \(Int(before)) MB before, \(Int(after)) MB with them (\(Int((after - before) * 1024 * 1024 / Double(max(1, subscribers)))) bytes each)")
        for channel in channels { try? await channel.close() }
    }
}
