import BrokerTestSupport
import Foundation
import Glibc
import Testing

extension ServerProcesses {
    /// Batches, idempotency keys, expected seqs and `/state` through the real binary
    /// and curl, as README shows them: a key acknowledged under `--fsync always` is
    /// known after a SIGKILL.
    @Suite(.timeLimit(.minutes(2)), .serialized) struct WriteProcessTests {
        typealias Server = ProcessTests.Server

        static func curl(_ arguments: String) async throws -> CommandResult {
            try await Command.run("/bin/bash", ["-c", "curl -sS --max-time 20 " + arguments])
        }

        @Test func keysSurviveSIGKILLAndStateAnswersAsOfASeq() async throws {
            let directory = NSTemporaryDirectory() + "broker-writes-\(UUID().uuidString)"
            defer {
                try? FileManager.default.removeItem(atPath: directory)
                try? FileManager.default.removeItem(atPath: directory + ".stderr")
            }
            let arguments = ["serve", "--host", "127.0.0.1", "--data-dir", directory, "--fsync", "always", "--max-batch", "5"]
            var server = try await Server.launch(arguments: arguments, errorLog: directory + ".stderr")
            _ = try await server.ready()
            var base = "http://127.0.0.1:\(server.port)"
            let lines = #"{"event":"sensor/1","data":{"t":20}}\n{"event":"sensor/2","data":{"t":21}}\n{"event":"door","data":"open"}\n"#
            func insert(_ base: String) -> String {
                "-i -X POST \(base)/insert -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: import-1' --data-binary $'\(lines)'"
            }
            let first = try await Self.curl(insert(base))
            #expect(first.stdout.contains(#"{"firstSeq":1,"lastSeq":3,"count":3,"timestamp":"#), "\(first.stdout) \(first.stderr)")
            let again = try await Self.curl(insert(base))
            #expect(again.stdout.lowercased().contains("idempotent-replayed: true"))
            let tooMany = try await Self.curl(
                "-o /dev/null -w '%{http_code}' -X POST \(base)/insert -H 'Content-Type: application/json' -d '["
                    + Array(repeating: #"{"event":"x","data":1}"#, count: 6).joined(separator: ",") + "]'")
            #expect(tooMany.stdout == "413")
            let conflict = try await Self.curl(
                #"-X POST \#(base)/insert -H 'Content-Type: application/json' -d '{"event":"door","data":"closed","expectedSeq":2}'"#)
            #expect(conflict.stdout.contains(#""currentSeq":3"#), "\(conflict.stdout)")
            let update = try await Self.curl(
                #"-X POST \#(base)/insert -H 'Content-Type: application/json' -d '{"event":"door","data":"closed","expectedSeq":3}'"#)
            #expect(update.stdout.hasPrefix(#"{"seq":4,"event":"door""#), "\(update.stdout)")

            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            server = try await Server.launch(arguments: arguments, errorLog: directory + ".stderr")
            _ = try await server.ready()
            base = "http://127.0.0.1:\(server.port)"
            let afterKill = try await Self.curl(insert(base))
            #expect(afterKill.stdout.lowercased().contains("idempotent-replayed: true"), "\(afterKill.stdout)")
            #expect(afterKill.stdout.contains(#""firstSeq":1,"lastSeq":3"#))
            let state = try await Self.curl("-i '\(base)/state?seq=3&prefix=sensor/'")
            #expect(state.stdout.contains("X-Broker-Seq: 3"), "\(state.stdout)")
            #expect(state.stdout.contains(#"[{"seq":1,"event":"sensor/1","#) && !state.stdout.contains("door"))
            let now = try await Self.curl("'\(base)/state?event=door'")
            #expect(now.stdout.contains(#""data":"closed"}]"#))
            #expect(try await server.terminate() < .seconds(2))
        }
    }
}
