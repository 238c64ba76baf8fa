import BrokerLog
import BrokerTestSupport
import Foundation
import Glibc
import Testing

extension ServerProcesses {
    /// SIGTERM ends the server within 2 s (SPEC 4.10) even while a client that stopped
    /// reading holds a stream in the middle of a large backlog, over HTTP/1.1 and HTTP/2.
    @Suite(.timeLimit(.minutes(2)), .serialized) struct StalledShutdownTests {
        @Test(arguments: [false, true]) func sigtermWithAStalledReader(tls: Bool) async throws {
            let workspace = try SecureProcessTests.Workspace()
            // A 3 MB log written before the server starts (inserting it over HTTP would only
            // slow the test down).
            var options = LogOptions(compression: false, durability: .never)
            options.logger.logLevel = .critical
            let log = try EventLog.open(directory: workspace.data, options: options)
            let payload = Array(("\"" + String(repeating: "x", count: 50_000) + "\"").utf8)
            for _ in 0..<60 { _ = try await log.append(event: "big", data: payload) }
            await log.close()
            let (certificate, key) = tls ? try await workspace.certificate("server") : ("", "")
            let server = try await ProcessTests.Server.launch(
                arguments: ["serve", "--host", "127.0.0.1", "--data-dir", workspace.data, "--fsync", "never"]
                    + (tls ? ["--tls-cert", certificate, "--tls-key", key] : []),
                errorLog: workspace.directory + "/stderr")
            let port = server.port
            let base = tls ? "https://localhost:\(port)" : "http://127.0.0.1:\(port)"
            let client = ["--cacert", workspace.caCertificate, "--resolve", "localhost:\(port):127.0.0.1"]
            var health = SecureProcessTests.Result(status: 1, stdout: "", stderr: "")
            for _ in 0..<100 where health.status != 0 {
                health = try await SecureProcessTests.curl(client + [base + "/healthz"])
                if health.status != 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            // Reads 1 KB/s from the start of a 3 MB backlog: its writes stall at once.
            let stalled = Process()
            stalled.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            stalled.arguments =
                ["curl", "-sSN", "--limit-rate", "1k", "--max-time", "30", "-H", "Last-Event-ID: 0", "-o", "/dev/null"]
                + (tls ? ["--http2"] : []) + client + [base + "/events"]
            try stalled.run()
            defer { kill(stalled.processIdentifier, SIGKILL) }
            try await Task.sleep(for: .seconds(1))
            let took = try await server.terminate()
            #expect(took < .seconds(2), "took \(took)")
            let logged = (try? String(contentsOfFile: workspace.directory + "/stderr", encoding: .utf8)) ?? ""
            #expect(server.process.terminationStatus == 0, "\(logged.suffix(3000))")
            // The log was closed properly: everything acknowledged is there.
            let verify = try await Command.run(ProcessTests.brokerPath, ["verify", workspace.data])
            #expect(verify.status == 0 && verify.stdout.contains("60 record(s)"), "\(verify.stdout) \(verify.stderr)")
        }
    }
}
