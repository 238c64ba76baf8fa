import Glibc
import NIOCore
import NIOPosix

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
    /// One record a request: 200-byte records, 1,000 names.
    static func run(_ target: Target, connections: Int, seconds: Int) async throws {
        let pad = String(repeating: "x", count: 150)
        let requests = (0..<1000).map { insertRequest(event: "load-\($0)", data: #"{"n":\#($0),"pad":"\#(pad)"}"#) }
        try await run(target, requests: requests, recordsPerRequest: 1, connections: connections, seconds: seconds)
    }

    /// Batches of `size` 200-byte records (1,000 names) a request, as NDJSON (answered
    /// with a summary) or as a JSON array (answered with every record).
    static func runBatches(_ target: Target, size: Int, ndjson: Bool, connections: Int, seconds: Int) async throws {
        let pad = String(repeating: "x", count: 150)
        let requests = (0..<8).map { batch in
            let records = (0..<size).map { #"{"event":"load-\#(($0 + batch * 7) % 1000)","data":{"n":\#($0),"pad":"\#(pad)"}}"# }
            return batchRequest(records.joined(separator: ndjson ? "\n" : ","), ndjson: ndjson)
        }
        try await run(target, requests: requests, recordsPerRequest: size, connections: connections, seconds: seconds)
    }

    static func run(_ target: Target, requests: [ByteBuffer], recordsPerRequest: Int, connections: Int, seconds: Int) async throws {
        let started = monotonicNanos()
        let deadline = started + Int64(seconds) * 1_000_000_000
        var results: [EventLoopFuture<(ok: Int, failed: Int, latencies: [Int64])>] = []
        for index in 0..<connections {
            let promise = target.group.next().makePromise(of: (ok: Int, failed: Int, latencies: [Int64]).self)
            _ = try await target.connect(spread: index) { InsertClient(requests: requests, deadline: deadline, done: promise, first: index * 31) }
            results.append(promise.futureResult)
        }
        var ok = 0
        var failed = 0
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
        print(
            "requests/s: \(Int(Double(ok) / elapsed))  latency p50 \(milliseconds(percentile(latencies, 0.5))) p99 \(milliseconds(percentile(latencies, 0.99)))"
        )
        if recordsPerRequest > 1 { print("records/s: \(Int(Double(ok * recordsPerRequest) / elapsed)) in batches of \(recordsPerRequest)") }
    }
}
