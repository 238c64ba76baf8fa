import BrokerTestSupport
import Foundation
import Glibc
import Testing

extension ServerProcesses {
    /// The real server against clients that misbehave: it stays up, serves everyone
    /// else, keeps its memory bounded and its log unchanged by what it rejects.
    @Suite(.timeLimit(.minutes(5)), .serialized) struct HostileTests {
        /// Runs `body` against a `broker serve` process with short timeouts.
        static func withServer(_ extra: [String] = [], _ body: (ProcessTests.Server, String) async throws -> Void) async throws {
            let directory = NSTemporaryDirectory() + "broker-hostile-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            defer { try? FileManager.default.removeItem(atPath: directory + ".stderr") }
            let server = try await ProcessTests.Server.launch(
                arguments: [
                    "serve", "--host", "127.0.0.1", "--data-dir", directory, "--fsync", "never",
                    "--idle-timeout-ms", "500", "--heartbeat-ms", "200", "--max-body", "64K",
                ] + extra,
                errorLog: directory + ".stderr")
            _ = try await server.ready()
            try await body(server, directory)
            _ = try await server.terminate()
        }

        /// Why an insert of `n` did not answer 200 (its status and body, or the client's
        /// error); nil when it did.
        static func insertFailure(_ port: Int, _ n: Int) async -> String? {
            do {
                let (status, body) = try await ProcessTests.post("http://127.0.0.1:\(port)/insert", #"{"event":"ok","data":\#(n)}"#)
                return status == 200 ? nil : "\(status) \(body)"
            } catch {
                return "\(error)"
            }
        }

        static func lastSeq(_ port: Int) async -> String {
            (try? await ProcessTests.get("http://127.0.0.1:\(port)/healthz")) ?? "unreachable"
        }

        @Test func stalledRequestsAreClosedAndOthersAreServed() async throws {
            try await Self.withServer { server, _ in
                #expect(await Self.insertFailure(server.port, 1) == nil)
                // Slowloris: headers and half a body, then nothing.
                var stalled: [RawSocket] = []
                for i in 0..<50 {
                    guard let socket = RawSocket(port: server.port) else { continue }
                    if i % 2 == 0 {
                        socket.send(
                            "POST /insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"event\":\"stall\"")
                    } else {
                        socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    }
                    stalled.append(socket)
                }
                #expect(await Self.insertFailure(server.port, 2) == nil)
                // The idle timeout closes every stalled connection.
                for socket in stalled {
                    let (_, closed) = await socket.receive(seconds: 5)
                    #expect(closed)
                }
                #expect(await Self.lastSeq(server.port) == #"{"status":"ok","lastSeq":2}"#)
            }
        }

        @Test func malformedRequestsAreRejectedAndTheLogIsUnchanged() async throws {
            try await Self.withServer { server, directory in
                #expect(await Self.insertFailure(server.port, 1) == nil)
                let manyHeaders = (0..<3000).map { "X-H\($0): v\r\n" }.joined()
                let hugeHeader = "X-Big: " + String(repeating: "a", count: 200_000) + "\r\n"
                let requests = [
                    "POST /insert HTTP/1.1\r\nHost: x\r\n\(manyHeaders)Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                    "GET /healthz HTTP/1.1\r\nHost: x\r\n\(hugeHeader)\r\n",
                    "NOT-HTTP garbage\r\n\r\n",
                    "POST /insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{",
                    "POST /insert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + String(repeating: "8000\r\n" + String(repeating: "x", count: 0x8000) + "\r\n", count: 4) + "0\r\n\r\n",
                ]
                for request in requests {
                    guard let socket = RawSocket(port: server.port) else {
                        Issue.record("connect failed")
                        continue
                    }
                    socket.send(request)
                    let (reply, _) = await socket.receive(limit: 4096, seconds: 5)
                    #expect(!reply.hasPrefix("HTTP/1.1 200"), "accepted: \(request.prefix(60))")
                }
                #expect(await Self.insertFailure(server.port, 2) == nil)
                #expect(await Self.lastSeq(server.port) == #"{"status":"ok","lastSeq":2}"#)
                #expect(FileManager.default.fileExists(atPath: directory + "/00000000000000000001.seg"))
            }
        }

        @Test func thousandsOfAbandonedConnectionsLeaveMemoryBounded() async throws {
            try await Self.withServer { server, _ in
                #expect(await Self.insertFailure(server.port, 1) == nil)
                let pid = server.process.processIdentifier
                let before = residentBytes(of: pid)
                for round in 0..<4 {
                    var sockets: [RawSocket] = []
                    for i in 0..<500 {
                        guard let socket = RawSocket(port: server.port) else { continue }
                        switch i % 4 {
                        case 0: socket.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")  // an SSE client that never reads
                        case 1: socket.send("POST /insert HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n")
                        default: break
                        }
                        sockets.append(socket)
                    }
                    #expect(await Self.insertFailure(server.port, round + 2) == nil, "round \(round)")
                    for (i, socket) in sockets.enumerated() where i % 2 == 0 { socket.abort() }
                    sockets.removeAll()
                }
                // Let the server notice (heartbeats, idle timeouts), then measure.
                try await Task.sleep(for: .seconds(2))
                let metrics = try await ProcessTests.get("http://127.0.0.1:\(server.port)/metrics")
                let subscribers = metrics.split(separator: "\n").first { $0.hasPrefix("broker_subscribers ") } ?? ""
                #expect(subscribers == "broker_subscribers 0.0" || subscribers == "broker_subscribers 0", "\(subscribers)")
                let after = residentBytes(of: pid)
                #expect(after - before < 64 << 20, "RSS grew from \(before >> 20) MiB to \(after >> 20) MiB")
                #expect(await Self.lastSeq(server.port) == #"{"status":"ok","lastSeq":5}"#)
            }
        }

        @Test func subscribersThatVanishMidStreamAreReleased() async throws {
            try await Self.withServer { server, _ in
                var sockets: [RawSocket] = []
                for _ in 0..<200 {
                    guard let socket = RawSocket(port: server.port) else { continue }
                    socket.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                    sockets.append(socket)
                }
                for i in 0..<20 { #expect(await Self.insertFailure(server.port, i) == nil) }
                let (first, _) = await sockets[0].receive(limit: 200, seconds: 5)
                #expect(first.hasPrefix("HTTP/1.1 200"))
                for socket in sockets { socket.abort() }
                sockets.removeAll()
                var subscribers = ""
                for _ in 0..<50 {
                    try await Task.sleep(for: .milliseconds(100))
                    let metrics = try await ProcessTests.get("http://127.0.0.1:\(server.port)/metrics")
                    subscribers = String(metrics.split(separator: "\n").first { $0.hasPrefix("broker_subscribers ") } ?? "")
                    if subscribers.hasSuffix(" 0") || subscribers.hasSuffix(" 0.0") { break }
                }
                #expect(subscribers.hasSuffix(" 0") || subscribers.hasSuffix(" 0.0"), "still: \(subscribers)")
                #expect(await Self.insertFailure(server.port, 99) == nil)
            }
        }
    }
}
