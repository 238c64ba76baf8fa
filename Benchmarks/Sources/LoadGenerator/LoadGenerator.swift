import Glibc
// A small SwiftNIO load generator for a running `broker serve` on loopback: closed-loop
// POST /insert over keep-alive connections, SSE fan-out with publish-to-receive
// latency, and idle subscribers' memory. Raw HTTP/1.1 bytes on both sides keep the
// generator's own CPU cost low: it shares the machine with the server.
//
//   LoadGenerator insert PORT [CONNECTIONS] [SECONDS]
//   LoadGenerator batch|batch-json PORT [CONNECTIONS] [SECONDS] [RECORDS_PER_BATCH]
//   LoadGenerator fanout PORT [SUBSCRIBERS] [RECORDS] [PUBLISHERS] [RECORDS_PER_SECOND]
//   LoadGenerator idle PORT SERVER_PID [SUBSCRIBERS]
//
// PORT may be a list, `18091,18092`: connections are spread over the ports in turn
// (fan-out through several cluster fronts; subscriber i and publisher i go to port
// i mod count).
//
// With BROKER_TOKEN set, every request carries it as `Authorization: Bearer`, for a
// server with access control on. With LOAD_TARGET=nchan the server is nginx with
// nchan (Benchmarks/load/nchan.conf: a publisher at /insert, an EventSource
// subscriber at /events, one channel): a record's body is its data alone.
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@main
enum LoadGenerator {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let mode = arguments.first, let ports = arguments.dropFirst().first.flatMap(parsePorts) else {
            print(
                "usage: LoadGenerator insert PORT [CONNECTIONS] [SECONDS] | batch|batch-json PORT [CONNECTIONS] [SECONDS] [RECORDS_PER_BATCH] | fanout PORT [SUBSCRIBERS] [RECORDS] [PUBLISHERS] [RECORDS_PER_SECOND] | idle PORT SERVER_PID [SUBSCRIBERS]"
            )
            exit(2)
        }
        let numbers = arguments.dropFirst(2).compactMap { Int($0) }
        func number(_ index: Int, _ fallback: Int) -> Int { index < numbers.count ? numbers[index] : fallback }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let target = Target(group: group, ports: ports)
        switch mode {
        case "insert": try await InsertLoad.run(target, connections: number(0, 32), seconds: number(1, 10))
        case "batch", "batch-json":
            try await InsertLoad.runBatches(
                target, size: number(2, 1000), ndjson: mode == "batch", connections: number(0, 4), seconds: number(1, 10))
        case "fanout":
            try await FanOut.run(target, subscribers: number(0, 1000), records: number(1, 1000), publishers: number(2, 4), rate: number(3, 0))
        case "idle": try await IdleSubscribers.run(target, serverPID: number(0, 0), subscribers: number(1, 10_000))
        default:
            print("unknown mode \(mode)")
            exit(2)
        }
        try await group.shutdownGracefully()
    }
}

/// `18091` or `18091,18092`; nil when any part is no port.
func parsePorts(_ text: String) -> [Int]? {
    let ports = text.split(separator: ",").compactMap { Int($0) }.filter { (1...65535).contains($0) }
    return ports.isEmpty || ports.count != text.split(separator: ",").count ? nil : ports
}

/// Where to connect: one port, or several taken in turn.
struct Target {
    let group: MultiThreadedEventLoopGroup
    let ports: [Int]

    /// Connects to the first port, or with `spread`, to port `spread` mod count.
    func connect(spread: Int = 0, _ handler: @escaping @Sendable () -> ChannelHandler) async throws -> Channel {
        let port = ports[spread % ports.count]
        return try await ClientBootstrap(group: group)
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

/// The `Authorization` header line every request carries when BROKER_TOKEN is set.
let authorizationLine: String = {
    guard let token = getenv("BROKER_TOKEN").map({ String(cString: $0) }), !token.isEmpty else { return "" }
    return "Authorization: Bearer \(token)\r\n"
}()

/// Whether the server is nginx with nchan rather than Broker.
let targetIsNchan = getenv("LOAD_TARGET").map { String(cString: $0) } == "nchan"

/// A POST /insert request with `data` as the record's JSON (for nchan, the message).
func insertRequest(event: String, data: String) -> ByteBuffer {
    let body = targetIsNchan ? data : #"{"event":"\#(event)","data":\#(data)}"#
    return ByteBuffer(
        string:
            "POST /insert HTTP/1.1\r\nHost: load\r\n\(authorizationLine)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    )
}

/// A POST /insert request with a batch: NDJSON lines, or the inside of a JSON array.
func batchRequest(_ records: String, ndjson: Bool) -> ByteBuffer {
    let body = ndjson ? records + "\n" : "[" + records + "]"
    let type = ndjson ? "application/x-ndjson" : "application/json"
    return ByteBuffer(
        string:
            "POST /insert HTTP/1.1\r\nHost: load\r\n\(authorizationLine)Content-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    )
}

/// Waits until `condition` holds, checking every 10 ms, at most `seconds`.
func waitUntil(seconds: Int, _ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<(seconds * 100) {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
