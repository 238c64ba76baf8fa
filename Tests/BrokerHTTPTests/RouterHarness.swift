import BrokerLog
import BrokerStore
import BrokerStoreTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import BrokerHTTP

/// Broker's application over a ``MemoryStore``, driven through Hummingbird's router
/// with no socket (HummingbirdTesting's `.router`): the harness of every test of a
/// route that answers and ends. Streams, TLS, HTTP/2, timeouts and processes keep the
/// loopback ``ServerHarness``.
struct RouterHarness: HTTPRequesting {
    let client: any TestClientProtocol
    let store: any EventStore
    /// The segment log under `store`, for the tests that serve one (`with(log:)`).
    let log: EventLog!
    let dataDirectory: String!

    /// Runs `body` against the application built from `configuration` (the loopback
    /// harness's, port unused) over `store`, a new memory store unless given.
    static func with<T: Sendable>(
        _ configuration: ServerConfiguration = ServerHarness.configuration(), store: any EventStore = MemoryStore(),
        _ body: @escaping @Sendable (RouterHarness) async throws -> T
    ) async throws -> T {
        try await serve(configuration, store: store, log: nil, dataDirectory: nil, body)
    }

    /// The same over a segment log in a fresh directory, for what only the segment
    /// store shows: its bytes on disk, fsyncs, faults of its storage.
    static func with<T: Sendable>(
        _ configuration: ServerConfiguration = ServerHarness.configuration(), log options: LogOptions,
        _ body: @escaping @Sendable (RouterHarness) async throws -> T
    ) async throws -> T {
        let dataDirectory = NSTemporaryDirectory() + "broker-router-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let log = try EventLog.open(directory: dataDirectory, options: options)
        do {
            let result = try await serve(configuration, store: SegmentStore(log), log: log, dataDirectory: dataDirectory, body)
            await log.close()
            return result
        } catch {
            await log.close()
            throw error
        }
    }

    private static func serve<T: Sendable>(
        _ configuration: ServerConfiguration, store: any EventStore, log: EventLog?, dataDirectory: String?,
        _ body: @escaping @Sendable (RouterHarness) async throws -> T
    ) async throws -> T {
        let app = try BrokerServer.makeApplication(store: store, configuration: configuration)
        return try await app.test(.router) { client in
            try await body(RouterHarness(client: client, store: store, log: log, dataDirectory: dataDirectory))
        }
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPFields.Element(name: try #require(.init(name)), value: value)) }
        let response = try await client.execute(
            uri: path, method: HTTPRequest.Method(rawValue: method.rawValue)!, headers: fields, body: body.map { ByteBuffer(bytes: $0) })
        var headers = HTTPHeaders()
        for field in response.headers { headers.add(name: field.name.rawName, value: field.value) }
        return Reply(status: Int(response.status.code), headers: headers, body: String(buffer: response.body))
    }
}

/// An HTTP answer as the tests read it, from either harness.
struct Reply {
    let status: Int
    let headers: HTTPHeaders
    let body: String
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
}

/// What both harnesses answer: a request, and the inserts built on it.
protocol HTTPRequesting: Sendable {
    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]?, headers: [(String, String)]) async throws -> Reply
}

extension HTTPRequesting {
    func request(_ method: HTTPMethod, _ path: String) async throws -> Reply {
        try await request(method, path, body: nil, headers: [])
    }

    func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)]) async throws -> Reply {
        try await request(method, path, body: nil, headers: headers)
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]) async throws -> Reply {
        try await request(method, path, body: body, headers: [])
    }

    func insert(_ event: String, _ data: String, headers: [(String, String)] = []) async throws -> Reply {
        let body = #"{"event":\#(jsonString(event)),"data":\#(data)}"#
        return try await request(.POST, "/insert", body: Array(body.utf8), headers: [("Content-Type", "application/json")] + headers)
    }

    @discardableResult
    func mustInsert(_ event: String, _ data: String) async throws -> UInt64 {
        let reply = try await insert(event, data)
        try #require(reply.status == 200, "insert failed: \(reply.status) \(reply.body)")
        return (reply.object["seq"] as? NSNumber)?.uint64Value ?? 0
    }
}
