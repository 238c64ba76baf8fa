import AsyncHTTPClient
import BrokerHTTP
import BrokerLog
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Testing

/// A Broker server on an ephemeral loopback port over a fresh data directory, and an
/// HTTP client that allows many connections (for SSE fan-out tests).
struct ServerHarness: HTTPRequesting {
    let port: Int
    let log: EventLog
    let dataDirectory: String
    let client: HTTPClient
    /// Over TLS (the configuration has certificates): HTTPS to localhost, HTTP/2.
    let secure: Bool

    var base: String { secure ? "https://localhost:\(port)" : "http://127.0.0.1:\(port)" }

    static func configuration(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.logger.logLevel = .error
        adjust(&configuration)
        return configuration
    }

    /// The options of the harness's log: compressed, no fsync, quiet.
    static func logOptions(_ adjust: (inout LogOptions) -> Void = { _ in }) -> LogOptions {
        var options = LogOptions(compression: true, durability: .never)
        options.logger.logLevel = .critical
        adjust(&options)
        return options
    }

    /// Runs `body` against a running server, then shuts it down and closes the log.
    /// With `trusting`, a CA certificate file the client trusts (for a TLS server).
    static func with<T>(
        _ configuration: ServerConfiguration = configuration(), log logOptions: LogOptions = logOptions(), directory: String? = nil,
        trusting: String? = nil,
        _ body: (ServerHarness) async throws -> T
    ) async throws -> T {
        let dataDirectory = directory ?? NSTemporaryDirectory() + "broker-http-\(UUID().uuidString)"
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dataDirectory) } }
        let log = try EventLog.open(directory: dataDirectory, options: logOptions)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = try BrokerServer.makeApplication(store: SegmentStore(log), configuration: configuration) { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
        }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: configuration.logger)
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2000
        clientConfiguration.timeout.connect = .seconds(5)
        if let trusting {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(trusting)
            clientConfiguration.tlsConfiguration = tls
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            let harness = ServerHarness(port: port, log: log, dataDirectory: dataDirectory, client: client, secure: configuration.tls != nil)
            let result: Result<T, any Error>
            do { result = .success(try await body(harness)) } catch { result = .failure(error) }
            try? await client.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            await log.close()
            return try result.get()
        }
    }

    // MARK: Requests

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Opens `GET /events` and returns a reader of its messages.
    func subscribe(_ query: String = "", headers: [(String, String)] = []) async throws -> SSEReader {
        var request = HTTPClientRequest(url: base + "/events" + query)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(60))
        return SSEReader(status: Int(response.status.code), headers: response.headers, body: response.body, version: response.version)
    }
}

func jsonString(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self)
}

/// One SSE message as a client sees it.
struct SSEEvent: Equatable, CustomStringConvertible {
    var id: UInt64?
    var event: String?
    var data: String
    var description: String { "#\(id.map(String.init) ?? "-") \(event ?? "-") \(data)" }
}

/// Parses a `text/event-stream` body into messages and comments. Every wait is bounded:
/// on timeout it returns what arrived (and the stream is abandoned).
final class SSEReader: @unchecked Sendable {
    let status: Int
    let headers: HTTPHeaders
    let version: HTTPVersion
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var pending = ""
    private var parsed: [SSEEvent] = []
    private(set) var comments: [String] = []
    private(set) var ended = false

    init(status: Int, headers: HTTPHeaders, body: HTTPClientResponse.Body, version: HTTPVersion) {
        self.status = status
        self.headers = headers
        self.version = version
        self.iterator = body.makeAsyncIterator()
    }

    /// The next `count` messages; fewer when the stream ends or `timeout` passes.
    func next(_ count: Int, timeout: Duration = .seconds(10)) async -> [SSEEvent] {
        await read(until: { $0.parsed.count >= count }, timeout: timeout)
        let result = Array(parsed.prefix(count))
        parsed.removeFirst(result.count)
        return result
    }

    /// Messages up to and including the one with id `lastID` (or until the timeout).
    func next(through lastID: UInt64, timeout: Duration = .seconds(10)) async -> [SSEEvent] {
        await read(until: { reader in reader.parsed.contains { ($0.id ?? 0) >= lastID } }, timeout: timeout)
        let end = parsed.firstIndex { ($0.id ?? 0) >= lastID }.map { $0 + 1 } ?? parsed.count
        let result = Array(parsed.prefix(end))
        parsed.removeFirst(end)
        return result
    }

    /// Reads until a comment containing `text` arrives; whether it did.
    func waitForComment(containing text: String, timeout: Duration = .seconds(10)) async -> Bool {
        await read(until: { reader in reader.comments.contains { $0.contains(text) } }, timeout: timeout)
        return comments.contains { $0.contains(text) }
    }

    /// Reads until the server ends the stream; whether it did.
    func waitForEnd(timeout: Duration = .seconds(10)) async -> Bool {
        await read(until: { _ in false }, timeout: timeout)
        return ended
    }

    private func read(until done: @escaping @Sendable (SSEReader) -> Bool, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !done(self), !self.ended {
                    guard let chunk = try? await self.iterator.next() else {
                        self.ended = true
                        break
                    }
                    self.pending += String(buffer: chunk)
                    self.parse()
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func parse() {
        while let range = pending.range(of: "\n\n") {
            let block = String(pending[..<range.lowerBound])
            pending.removeSubrange(..<range.upperBound)
            var event = SSEEvent(id: nil, event: nil, data: "")
            var isMessage = false
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") {
                    comments.append(String(line.dropFirst().drop { $0 == " " }))
                    continue
                }
                guard let colon = line.firstIndex(of: ":") else { continue }
                var value = line[line.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
                isMessage = true
                switch line[..<colon] {
                case "id": event.id = UInt64(value)
                case "event": event.event = String(value)
                case "data": event.data += String(value)
                default: break
                }
            }
            if isMessage { parsed.append(event) }
        }
    }
}
