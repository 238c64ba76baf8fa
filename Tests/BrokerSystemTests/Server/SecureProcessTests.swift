import BrokerLog
import BrokerTestSupport
import Foundation
import Glibc
import Testing

extension ServerProcesses {
    /// The real `broker` with access control and TLS, driven by `broker token`, curl and
    /// openssl as a user would (SPEC.md 4.11, 4.12, 5.3).
    @Suite(.timeLimit(.minutes(2)), .serialized) struct SecureProcessTests {
        /// A scratch directory with an HMAC secret and, on demand, test certificates.
        final class Workspace: @unchecked Sendable {
            let directory = NSTemporaryDirectory() + "broker-secure-\(UUID().uuidString)"
            var secret: String { directory + "/secret" }
            var data: String { directory + "/data" }
            var caCertificate: String { directory + "/ca.pem" }

            init() throws {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try Data((String(repeating: "q", count: 64) + "\n").utf8).write(to: URL(fileURLWithPath: secret))
            }

            deinit { try? FileManager.default.removeItem(atPath: directory) }

            /// A certificate for localhost signed by the workspace's CA: (cert, key) paths.
            func certificate(_ name: String) async throws -> (String, String) {
                let script = BrokerExecutable.root.appendingPathComponent("Tests/Support/make-test-certs.sh").path
                let result = try await SecureProcessTests.run("/bin/sh", [script, directory, name])
                try #require(result.status == 0, "make-test-certs.sh failed: \(result.stderr)")
                return (directory + "/\(name).pem", directory + "/\(name).key")
            }

            func token(_ arguments: [String]) async throws -> String {
                let result = try await SecureProcessTests.run(ProcessTests.brokerPath, ["token", "--secret-file", secret] + arguments)
                try #require(result.status == 0, "broker token failed: \(result.stderr)")
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        typealias Result = CommandResult

        static func run(_ executable: String, _ arguments: [String]) async throws -> Result { try await Command.run(executable, arguments) }

        /// Waits for a background command without holding a thread; kills it after `seconds`.
        static func waitForExit(_ process: Process, seconds: Int) async throws {
            for _ in 0..<(seconds * 20) where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }

        static func curl(_ arguments: [String]) async throws -> Result {
            try await run("/usr/bin/env", ["curl", "-sS", "--max-time", "10"] + arguments)
        }

        @Test func tokenFromTheCommandLineWorksAndNoSecretReachesTheLog() async throws {
            let workspace = try Workspace()
            let errorLog = workspace.directory + "/stderr"
            let server = try await ProcessTests.Server.launch(
                arguments: [
                    "serve", "--host", "127.0.0.1", "--data-dir", workspace.data,
                    "--jwt-secret-file", workspace.secret, "--public-subscribe", "news/*", "--log-level", "trace",
                ],
                errorLog: errorLog)
            _ = try await server.ready()
            let base = "http://127.0.0.1:\(server.port)"
            let writer = try await workspace.token(["--publish", "a/*", "--publish", "news/*"])
            let reader = try await workspace.token(["--subscribe", "a/*", "--ttl", "10m"])

            let refused = try await Self.curl([
                "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
                "--data", #"{"event":"a/1","data":1}"#, base + "/insert",
            ])
            #expect(refused.stdout == "401")
            for (event, data) in [("a/1", "1"), ("b/1", "2"), ("news/1", "3")] {
                let reply = try await Self.curl([
                    "-w", " %{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
                    "-H", "Authorization: Bearer \(writer)", "--data", #"{"event":"\#(event)","data":\#(data)}"#, base + "/insert",
                ])
                #expect(reply.stdout.hasSuffix(event == "b/1" ? " 403" : " 200"), "\(reply.stdout)")
            }
            // The token in the query string, as an EventSource would send it.
            let stream = try await Self.curl(["-N", "--max-time", "2", base + "/events?access_token=\(reader)"])
            #expect(stream.stdout.contains("event: a/1") && stream.stdout.contains("event: news/1") && !stream.stdout.contains("b/1"))
            let anonymous = try await Self.curl(["-N", "--max-time", "2", base + "/events"])
            #expect(anonymous.stdout.contains("event: news/1") && !anonymous.stdout.contains("event: a/1"))
            let bad = try await Self.curl(["-w", " %{http_code}", base + "/events?access_token=not.a.token"])
            #expect(bad.stdout.hasSuffix(" 401"))
            _ = try await server.terminate()

            let logged = try String(contentsOfFile: errorLog, encoding: .utf8)
            #expect(logged.contains("access control on"))
            for secret in [reader, writer, "not.a.token", String(repeating: "q", count: 64), "access_token"] {
                #expect(!logged.contains(secret), "the log holds a secret: \(secret.prefix(20))…")
            }
        }

        @Test func misconfigurationsAreRefusedAtStart() async throws {
            let workspace = try Workspace()
            let short = workspace.directory + "/short"
            try Data("short\n".utf8).write(to: URL(fileURLWithPath: short))
            let cases: [([String], String)] = [
                (["--public-subscribe", "a/*"], "--public-subscribe needs"),
                (["--jwt-secret-file", short], "at least 32 bytes"),
                (["--jwt-public-key-file", workspace.secret], "not a PEM public key"),
                (["--tls-cert", workspace.secret], "--tls-cert and --tls-key go together"),
                (["--tls-cert", workspace.secret, "--tls-key", workspace.secret], "not a readable PEM certificate"),
            ]
            for (arguments, message) in cases {
                let result = try await Self.run(
                    ProcessTests.brokerPath, ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", workspace.data] + arguments)
                #expect(result.status != 0, "\(arguments)")
                #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            }
            let tokenWithoutKey = try await Self.run(ProcessTests.brokerPath, ["token", "--publish", "a"])
            #expect(tokenWithoutKey.status != 0 && tokenWithoutKey.stderr.contains("exactly one of"))
        }

        /// HTTPS with HTTP/2 by ALPN (and HTTP/1.1 for clients that ask for it), an insert
        /// and a stream over TLS; SIGHUP swaps the certificate for new connections while
        /// an open stream goes on, and a bad pair on SIGHUP keeps the current one.
        @Test func tlsWithHTTP2AndCertificateReload() async throws {
            let workspace = try Workspace()
            let (certificate, key) = try await workspace.certificate("broker-one")
            let errorLog = workspace.directory + "/stderr"
            let server = try await ProcessTests.Server.launch(
                arguments: [
                    "serve", "--host", "127.0.0.1", "--data-dir", workspace.data,
                    "--tls-cert", certificate, "--tls-key", key, "--heartbeat-ms", "200",
                ],
                errorLog: errorLog)
            let port = server.port
            let base = "https://localhost:\(port)"
            let trust = ["--cacert", workspace.caCertificate, "--resolve", "localhost:\(port):127.0.0.1"]
            var health = Result(status: 1, stdout: "", stderr: "")
            for _ in 0..<100 where health.status != 0 {
                health = try await Self.curl(trust + ["--http2", "-w", " %{http_version}", base + "/healthz"])
                if health.status != 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(health.stdout == #"{"status":"ok","lastSeq":0} 2"#, "\(health.stderr)")
            let http1 = try await Self.curl(trust + ["--http1.1", "-w", " %{http_version}", base + "/healthz"])
            #expect(http1.stdout.hasSuffix(" 1.1"))
            let plain = try await Self.curl(["-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])
            #expect(plain.stdout != "200")

            // A stream opened before the reload, kept by a curl in the background.
            let streamOutput = workspace.directory + "/stream"
            let stream = Process()
            stream.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            stream.arguments = ["curl", "-sSN", "--http2", "--max-time", "6", "-o", streamOutput] + trust + [base + "/events"]
            try stream.run()
            try await Task.sleep(for: .milliseconds(700))

            let insert = { (data: Int) async throws -> Result in
                try await Self.curl(
                    trust + [
                        "--http2", "-X", "POST", "-H", "Content-Type: application/json", "--data",
                        #"{"event":"tls","data":\#(data)}"#, base + "/insert",
                    ])
            }
            #expect(try await insert(1).stdout.hasPrefix(#"{"seq":1,"#))
            #expect(try await Self.curl(trust + ["-v", base + "/healthz"]).stderr.contains("CN=broker-one"))

            // The new certificate comes as a full chain: leaf, then the CA.
            let (newCertificate, newKey) = try await workspace.certificate("broker-two")
            let chain = try String(contentsOfFile: newCertificate, encoding: .utf8) + String(contentsOfFile: workspace.caCertificate, encoding: .utf8)
            try FileManager.default.removeItem(atPath: certificate)
            try chain.write(toFile: certificate, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: key)
            try FileManager.default.copyItem(atPath: newKey, toPath: key)
            kill(server.process.processIdentifier, SIGHUP)
            var subject = ""
            for _ in 0..<50 where !subject.contains("CN=broker-two") {
                try await Task.sleep(for: .milliseconds(100))
                subject = try await Self.curl(trust + ["-v", base + "/healthz"]).stderr
            }
            #expect(subject.contains("CN=broker-two"))
            #expect(try await insert(2).stdout.hasPrefix(#"{"seq":2,"#))

            // A key that does not match: the reload is refused and the current pair stays.
            let (_, strayKey) = try await workspace.certificate("stray")
            try FileManager.default.removeItem(atPath: key)
            try FileManager.default.copyItem(atPath: strayKey, toPath: key)
            kill(server.process.processIdentifier, SIGHUP)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await Self.curl(trust + ["-v", base + "/healthz"]).stderr.contains("CN=broker-two"))

            try await Self.waitForExit(stream, seconds: 15)
            let streamed = (try? String(contentsOfFile: streamOutput, encoding: .utf8)) ?? ""
            #expect(streamed.contains("id: 1") && streamed.contains("id: 2"), "the stream opened before the reload: \(streamed)")
            #expect(streamed.contains(": ping"), "no heartbeat over HTTP/2")
            // Graceful shutdown with an HTTP/2 stream open: within 2 s, exit 0.
            let lastStream = Process()
            lastStream.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            lastStream.arguments = ["curl", "-sSN", "--http2", "--max-time", "10", "-o", "/dev/null"] + trust + [base + "/events"]
            try lastStream.run()
            try await Task.sleep(for: .milliseconds(700))
            let took = try await server.terminate()
            #expect(took < .seconds(2), "took \(took)")
            #expect(server.process.terminationStatus == 0)
            try await Self.waitForExit(lastStream, seconds: 15)
            let logged = try String(contentsOfFile: errorLog, encoding: .utf8)
            #expect(logged.contains("reloaded the TLS certificate") && logged.contains("kept the current TLS certificate"))
        }
    }
}
