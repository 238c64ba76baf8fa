import AsyncHTTPClient
import BrokerHTTP
import BrokerTestSupport
import Foundation
import Glibc
import NIOSSL
import Testing

/// SSE over TLS and HTTP/2 (SPEC.md 4.12) follows the same rules as over HTTP/1.1:
/// snapshot then live, slow subscribers cut off while fast ones get everything.
@Suite(.timeLimit(.minutes(3))) struct HTTP2Tests {
    /// A server certificate for localhost and the CA that signed it, made for the test.
    static func certificates() async throws -> (store: CertificateStore, ca: String, directory: String) {
        let directory = NSTemporaryDirectory() + "broker-h2-\(UUID().uuidString)"
        let script = BrokerExecutable.root.appendingPathComponent("Tests/Support/make-test-certs.sh").path
        let made = try await Command.run("/bin/sh", [script, directory, "server"])
        try #require(made.status == 0, "make-test-certs.sh: \(made.stderr)")
        let store = try CertificateStore(certificatePath: directory + "/server.pem", keyPath: directory + "/server.key")
        return (store, directory + "/ca.pem", directory)
    }

    /// The slow subscriber is curl reading 1 KB/s over HTTP/2 (AsyncHTTPClient would
    /// buffer the stream for the test, so it would not be slow on the wire); the fast
    /// one is AsyncHTTPClient over HTTP/2 on a connection of its own.
    @Test func slowSubscriberIsCutOffWhileAFastOneGetsEverything() async throws {
        let (store, ca, directory) = try await Self.certificates()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ServerHarness.configuration {
            $0.tls = store
            $0.subscriberBufferBytes = 1 << 20
        }
        try await ServerHarness.with(configuration, trusting: ca) { server in
            try await server.mustInsert("before", "0")
            let slow = Process()
            slow.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            slow.arguments = [
                "curl", "-sSN", "--http2", "--limit-rate", "1k", "--max-time", "120", "--cacert", ca,
                "--resolve", "localhost:\(server.port):127.0.0.1", "-o", "/dev/null", server.base + "/events",
            ]
            try slow.run()
            defer { kill(slow.processIdentifier, SIGKILL) }
            for _ in 0..<100 where try await Self.subscribers(server) < 1 { try await Task.sleep(for: .milliseconds(50)) }

            let fast = try await server.subscribe(headers: [("Last-Event-ID", "1")])
            #expect(fast.status == 200 && fast.version == .http2)
            let total = 300
            let payload = "\"" + String(repeating: "x", count: 20_000) + "\""
            let reader = Task { await fast.next(total, timeout: .seconds(120)).compactMap(\.id) }
            for _ in 1...total { try await server.mustInsert("big", payload) }
            #expect(await reader.value == Array(2...UInt64(total + 1)))
            let metrics = try await server.request(.GET, "/metrics")
            #expect(metrics.body.contains("broker_subscribers_dropped_total 1\n"), "the slow HTTP/2 stream was not cut off")
        }
    }

    static func subscribers(_ server: ServerHarness) async throws -> Int {
        let metrics = try await server.request(.GET, "/metrics")
        let line = metrics.body.split(separator: "\n").first { $0.hasPrefix("broker_subscribers ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
    }
}
