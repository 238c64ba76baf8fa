import AsyncHTTPClient
import BrokerLog
import BrokerStore
import BrokerTestSupport
import Foundation
import Glibc
import NIOCore
import Testing

/// The suites that start `broker` processes. They run one at a time: in parallel they
/// starved each other's servers of CPU under ThreadSanitizer on two cores.
@Suite(.serialized) struct ServerProcesses {}

extension ServerProcesses {
    /// The real `broker` executable: flags and environment, graceful stop on SIGTERM.
    @Suite(.timeLimit(.minutes(2)), .serialized) struct ProcessTests {
        static var brokerPath: String { BrokerExecutable.path }

        final class Server: @unchecked Sendable {
            let process: Process
            private(set) var port: Int
            let exited: Locked<ContinuousClock.Instant?> = Locked(nil)

            /// With `errorLog`, standard error goes to that file.
            init(
                executable: String = ProcessTests.brokerPath, arguments: [String], environment: [String: String] = [:], port: Int,
                errorLog: String? = nil
            ) throws {
                process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                process.standardOutput = FileHandle.nullDevice
                if let errorLog {
                    FileManager.default.createFile(atPath: errorLog, contents: nil)
                    process.standardError = FileHandle(forWritingAtPath: errorLog)
                } else {
                    process.standardError = FileHandle.nullDevice
                }
                self.port = port
                process.terminationHandler = { [weak self] _ in self?.exited.withLock { $0 = .now } }
                try process.run()
            }

            /// Starts `broker` with `--port 0` and learns the port the kernel gave it from
            /// the server's log in `errorLog` (at most 15 s): unlike a port picked in advance,
            /// no other test's server can take it in between.
            /// `portArguments` is what asks for port 0 (empty when the command or the
            /// environment already does).
            static func launch(
                executable: String = ProcessTests.brokerPath, arguments: [String], environment: [String: String] = [:],
                errorLog: String, portArguments: [String] = ["--port", "0"]
            ) async throws -> Server {
                let server = try Server(
                    executable: executable, arguments: arguments + portArguments, environment: environment, port: 0, errorLog: errorLog)
                for _ in 0..<300 {
                    let logged = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
                    if let range = logged.range(of: #"listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                        server.port = Int(logged[range].split(separator: ":").last ?? "") ?? 0
                        return server
                    }
                    if server.exited.withLock({ $0 }) != nil { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                Issue.record("the server did not start: \((try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? "")")
                return server
            }

            /// Waits (at most 10 s) until /healthz answers; its body.
            func ready() async throws -> String {
                for _ in 0..<200 {
                    if let body = try? await ProcessTests.get("http://127.0.0.1:\(port)/healthz") { return body }
                    try await Task.sleep(for: .milliseconds(50))
                }
                Issue.record("the server did not start")
                return ""
            }

            /// Sends SIGTERM and returns how long the process took to exit (at most 10 s).
            func terminate() async throws -> Duration {
                let start = ContinuousClock.now
                kill(process.processIdentifier, SIGTERM)
                for _ in 0..<1000 {
                    if let end = exited.withLock({ $0 }) { return end - start }
                    try await Task.sleep(for: .milliseconds(10))
                }
                process.interrupt()
                return .seconds(999)
            }
        }

        // 30 s: the ThreadSanitizer run of the hostile tests makes a server busy with
        // hundreds of new connections answer in seconds, not milliseconds.
        static func get(_ url: String) async throws -> String {
            var request = HTTPClientRequest(url: url)
            // Not kept in the pool either, where the next request (a `post`) would find it
            // just as the server closes it at its idle timeout.
            request.headers.add(name: "Connection", value: "close")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return String(buffer: try await response.body.collect(upTo: 1 << 20))
        }

        static func post(_ url: String, _ body: String) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            // A connection of its own: a pooled one may be the server's to close at its
            // idle timeout (500 ms in HostileTests) just as this request goes out.
            request.headers.add(name: "Connection", value: "close")
            request.body = .bytes(Array(body.utf8))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }

        @Test func sigtermStopsWithinTwoSecondsAndRestartKeepsTheLog() async throws {
            let directory = NSTemporaryDirectory() + "broker-process-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let server = try await Server.launch(
                arguments: ["serve", "--host", "127.0.0.1", "--data-dir", directory, "--fsync", "always"], errorLog: directory + ".stderr")
            defer { try? FileManager.default.removeItem(atPath: directory + ".stderr") }
            let port = server.port
            #expect(try await server.ready() == #"{"status":"ok","lastSeq":0}"#)
            for i in 1...3 {
                let (status, _) = try await Self.post("http://127.0.0.1:\(port)/insert", #"{"event":"p","data":\#(i)}"#)
                #expect(status == 200)
            }
            // An open SSE subscriber must not hold the shutdown up.
            let subscriber = Task { try? await Self.get("http://127.0.0.1:\(port)/events") }
            try await Task.sleep(for: .milliseconds(200))
            let took = try await server.terminate()
            #expect(took < .seconds(2), "took \(took)")
            #expect(server.process.terminationStatus == 0)
            subscriber.cancel()

            // Environment variables configure the restart; the log goes on.
            let again = try await Server.launch(
                arguments: ["serve", "--host", "127.0.0.1"], environment: ["PORT": "0", "BROKER_DATA_DIR": directory],
                errorLog: directory + ".stderr", portArguments: [])
            let port2 = again.port
            #expect(try await again.ready() == #"{"status":"ok","lastSeq":3}"#)
            let (status, body) = try await Self.post("http://127.0.0.1:\(port2)/insert", #"{"event":"p","data":4}"#)
            #expect(status == 200)
            #expect(body.hasPrefix(#"{"seq":4,"#))
            _ = try await again.terminate()
        }

        @Test func aSecondServerOnTheSameDirectoryIsRefused() async throws {
            let directory = NSTemporaryDirectory() + "broker-process-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            defer { try? FileManager.default.removeItem(atPath: directory + ".stderr") }
            let first = try await Server.launch(
                arguments: ["serve", "--host", "127.0.0.1", "--data-dir", directory], errorLog: directory + ".stderr")
            _ = try await first.ready()
            let second = try Server(arguments: ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", directory], port: 0)
            for _ in 0..<500 where second.exited.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(second.exited.withLock { $0 } != nil)
            #expect(second.process.terminationStatus != 0)
            _ = try await first.terminate()
        }

        /// A sealed segment damaged in the middle, behind a valid checkpoint: the server
        /// starts from the checkpoint, its background scrub finds the damage, and then
        /// inserts and /healthz answer 503 naming the segment and offset, as does the log
        /// on standard error. With --verify-on-open the server refuses to start instead.
        @Test func damageBehindTheCheckpointIsReportedByHealthAndTheLog() async throws {
            let directory = NSTemporaryDirectory() + "broker-process-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var options = LogOptions(compression: false, durability: .never, segmentBytes: 4096)
            options.logger.logLevel = .critical
            let log = try EventLog.open(directory: directory, options: options)
            for n in 0..<100 { _ = try await log.append(event: "e\(n % 7)", data: Array(#"{"n":\#(n),"pad":"................"}"#.utf8)) }
            await log.close()
            let first = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.min())
            var bytes = try #require(FileManager.default.contents(atPath: directory + "/" + first))
            bytes[200] ^= 0x01  // inside an early frame, far from the segment's last one
            try bytes.write(to: URL(fileURLWithPath: directory + "/" + first))

            let errorLog = directory + ".stderr"
            defer { try? FileManager.default.removeItem(atPath: errorLog) }
            let server = try await Server.launch(arguments: ["serve", "--host", "127.0.0.1", "--data-dir", directory], errorLog: errorLog)
            let port = server.port
            _ = try await server.ready()
            var health = ""
            for _ in 0..<200 {
                health = try await Self.get("http://127.0.0.1:\(port)/healthz")
                if health.contains("failed") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(health.contains(#""status":"failed""#), "\(health)")
            #expect(health.contains(first) && health.contains(": byte offset "), "\(health)")
            let (status, body) = try await Self.post("http://127.0.0.1:\(port)/insert", #"{"event":"e1","data":1}"#)
            #expect(status == 503, "\(body)")
            _ = try await server.terminate()
            let logged = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
            #expect(logged.contains("critical broker.log: scrub found damage") && logged.contains(first), "\(logged)")

            let strict = try Server(
                arguments: ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", directory, "--verify-on-open"],
                port: 0, errorLog: errorLog)
            for _ in 0..<500 where strict.exited.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(strict.process.terminationStatus != 0)
            let refused = (try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? ""
            #expect(refused.contains(first) && refused.contains(": byte offset "), "\(refused)")
        }

        /// One descriptor per segment and per connection: serve raises its soft limit on
        /// open files to the hard limit, so a large log opens under a 1,024 default.
        @Test func serveRaisesItsOpenFileLimit() async throws {
            let directory = NSTemporaryDirectory() + "broker-process-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            defer { try? FileManager.default.removeItem(atPath: directory + ".stderr") }
            let command = "ulimit -Sn 256 && exec '\(ProcessTests.brokerPath)' serve --host 127.0.0.1 --port 0 --data-dir '\(directory)'"
            let server = try await Server.launch(
                executable: "/bin/sh", arguments: ["-c", command], errorLog: directory + ".stderr", portArguments: [])
            _ = try await server.ready()
            let limits = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/limits", encoding: .utf8)
            let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
            let fields = line.split(separator: " ").suffix(3)
            #expect(fields.first != "256", "\(line)")
            #expect(Array(fields)[0] == Array(fields)[1], "soft limit not raised to the hard one: \(line)")
            _ = try await server.terminate()
        }

        /// `--static` must name a directory: anything else stops the start (exit 64).
        @Test func aStaticPathThatIsNotADirectoryIsRefused() async throws {
            let directory = NSTemporaryDirectory() + "broker-process-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            for path in [directory + "/missing", "/etc/hostname"] {
                let result = try await Command.run(
                    ProcessTests.brokerPath, ["serve", "--port", "0", "--data-dir", directory, "--static", path], in: NSTemporaryDirectory())
                #expect(result.status == 64)
                #expect(result.stderr.contains("--static \(path) is not a directory"), "\(result.stderr)")
            }
        }
    }
}
