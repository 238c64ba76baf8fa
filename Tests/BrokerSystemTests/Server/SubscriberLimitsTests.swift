import BrokerTestSupport
import Foundation
import Glibc
import Testing

extension ServerProcesses {
    /// The real server's bounds on what one subscriber may cost it (SPEC.md 4.3): bytes
    /// held for a subscriber that does not read, and the write timeout for a socket
    /// that takes nothing.
    @Suite(.timeLimit(.minutes(5)), .serialized) struct SubscriberLimitsTests {
        static let megabyteRecord = #"{"event":"big","data":""# + String(repeating: "x", count: 1_000_000) + #""}"#

        static func withServer(_ options: [String], _ body: (ProcessTests.Server) async throws -> Void) async throws {
            let directory = NSTemporaryDirectory() + "broker-limits-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            defer { try? FileManager.default.removeItem(atPath: directory + ".stderr") }
            let server = try await ProcessTests.Server.launch(
                arguments: [
                    "serve", "--host", "127.0.0.1", "--data-dir", directory, "--fsync", "never", "--compression", "none",
                    "--max-body", "2M", "--heartbeat-ms", "60000",
                ] + options,
                errorLog: directory + ".stderr")
            _ = try await server.ready()
            try await body(server)
            _ = try await server.terminate()
        }

        /// The value of a metric line `name value` in the server's /metrics.
        static func metric(_ name: String, _ server: ProcessTests.Server) async throws -> Double? {
            let text = try await ProcessTests.get("http://127.0.0.1:\(server.port)/metrics")
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }
        }

        static func subscribe(_ port: Int, receiveBuffer: Int32? = nil) throws -> RawSocket {
            let socket = try #require(RawSocket(port: port, receiveBuffer: receiveBuffer))
            socket.send("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            return socket
        }

        static func insertMegabyte(_ server: ProcessTests.Server) async throws {
            let (status, body) = try await ProcessTests.post("http://127.0.0.1:\(server.port)/insert", megabyteRecord)
            #expect(status == 200, "\(body)")
        }

        /// 200 records of 1 MB: the subscriber that never reads is cut off before the
        /// server holds much more than its 8 MiB for it, while one that reads gets all.
        @Test func aSubscriberThatNeverReadsCostsAtMostItsBuffer() async throws {
            let buffer = 8 << 20
            try await Self.withServer(["--subscriber-buffer", "8M"]) { server in
                let pid = server.process.processIdentifier
                try await Self.insertMegabyte(server)  // the first of everything is allocated
                let reader = try Self.subscribe(server.port)
                let stalled = try Self.subscribe(server.port)
                let total = 200
                let received = Task { await reader.count("id: ", upTo: total + 1, seconds: 30) }
                for _ in 0..<50 where try await Self.metric("broker_subscribers", server) != 2 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let before = residentBytes(of: pid)
                var peak = before
                for _ in 0..<total {
                    try await Self.insertMegabyte(server)
                    peak = max(peak, residentBytes(of: pid))
                }
                #expect(await received.value == total + 1, "the reading subscriber missed records")
                #expect(try await Self.metric("broker_subscribers_dropped_total", server) == 1)
                let growth = peak - before
                #expect(growth < 2 * buffer + (24 << 20), "RSS grew by \(growth >> 20) MiB, from \(before >> 20) MiB")
                // The stalled one got what was queued, then its connection closed.
                #expect(await stalled.count("id: ", upTo: total + 1, seconds: 10) < total)
            }
        }

        /// A client whose TCP window stays shut is closed after --write-timeout-ms; an
        /// idle stream with nothing to send is not.
        @Test func aSocketThatTakesNothingIsClosedAfterTheWriteTimeout() async throws {
            try await Self.withServer(["--write-timeout-ms", "1000", "--subscriber-buffer", "64M"]) { server in
                let idle = try Self.subscribe(server.port)
                let idleReceived = Task { await idle.count("id: ", upTo: 12, seconds: 30) }
                let shut = try Self.subscribe(server.port, receiveBuffer: 4096)
                for _ in 0..<50 where try await Self.metric("broker_subscribers", server) != 2 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await Task.sleep(for: .milliseconds(1500))
                #expect(try await Self.metric("broker_subscribers", server) == 2, "an idle stream was closed")
                // More than the kernel's buffers take, far less than the 64 MiB bound.
                for _ in 0..<12 { try await Self.insertMegabyte(server) }
                var timeouts: Double? = 0
                for _ in 0..<100 where timeouts == 0 {
                    try await Task.sleep(for: .milliseconds(50))
                    timeouts = try await Self.metric("broker_stream_write_timeouts_total", server)
                }
                #expect(timeouts == 1)
                #expect(try await Self.metric("broker_subscribers_dropped_total", server) == 0)
                for _ in 0..<50 where try await Self.metric("broker_subscribers", server) != 1 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await Self.metric("broker_subscribers", server) == 1)
                // The idle one waited with nothing to send, then read: it got all twelve.
                #expect(await idleReceived.value == 12)
                _ = shut
            }
        }

        /// A buffer that cannot hold a record of the largest body beside the one being
        /// written would cut off every subscriber at such a record: refused at start.
        @Test func aBufferUnderTwiceTheBodyLimitIsRefused() async throws {
            let directory = NSTemporaryDirectory() + "broker-limits-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await Command.run(
                BrokerExecutable.path, ["serve", "--port", "0", "--data-dir", directory, "--max-body", "4M", "--subscriber-buffer", "6M"],
                in: NSTemporaryDirectory())
            #expect(result.status == 64)
            #expect(
                result.stderr.contains("--subscriber-buffer (6291456 bytes) must be at least twice --max-body (4194304 bytes)"), "\(result.stderr)")
        }
    }
}
