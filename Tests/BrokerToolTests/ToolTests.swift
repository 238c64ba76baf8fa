import BrokerLog
import BrokerTestSupport
import Foundation
import Testing

/// Runs the `broker` executable built beside the tests.
struct Tool {
    static let root = BrokerExecutable.root
    static var path: String { BrokerExecutable.path }
    static let segments = root.appendingPathComponent("Fixtures/segments").path
    static let goldens = root.appendingPathComponent("Fixtures/tools").path

    typealias Result = CommandResult

    /// Runs `broker arguments…` in `directory`, or with `shell` a bash command line in
    /// which `BROKER` stands for the executable.
    /// Async, on a Dispatch thread: a test waiting for a tool must not hold one of Swift
    /// concurrency's two threads (under TSan that starved the hub's tests).
    static func run(_ arguments: [String], in directory: String = segments, shell: String? = nil) async throws -> Result {
        if let shell {
            return try await Command.run("/bin/bash", ["-c", "set -o pipefail; " + shell.replacingOccurrences(of: "BROKER", with: "'\(path)'")], in: directory)
        }
        return try await Command.run(path, arguments, in: directory)
    }

    /// Compares with the golden file `Fixtures/tools/NAME` (rewritten with BROKER_REGENERATE_FIXTURES=1).
    static func matchesGolden(_ text: String, _ name: String) throws -> Bool {
        let file = goldens + "/" + name
        if ProcessInfo.processInfo.environment["BROKER_REGENERATE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(atPath: goldens, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return (try? String(contentsOfFile: file, encoding: .utf8)) == text
    }
}

@Suite(.timeLimit(.minutes(2))) struct DumpTests {
    @Test(arguments: [
        (["dump", "uncompressed"], "dump-uncompressed.txt"),
        (["dump", "--json", "lz4"], "dump-lz4.jsonl"),
        (["dump", "--stats", "lz4"], "dump-stats-lz4.txt"),
        (["dump", "--stats", "--json", "uncompressed"], "dump-stats-uncompressed.jsonl"),
        (["dump", "corrupt-sealed"], "dump-corrupt-sealed.txt"),
        (["dump", "torn-tail/00000000000000000001.seg"], "dump-torn-tail.txt"),
        (["dump", "lz4", "--event", "cart", "--from-seq", "10", "--until", "1700000000030"], "dump-filtered.txt"),
        (["replay", "uncompressed"], "replay-uncompressed.jsonl"),
        (["replay", "lz4", "--event", "user.login", "--since", "1700000000010"], "replay-filtered.jsonl"),
        (["replay", "lz4", "--as-of", "1700000000012"], "replay-as-of.jsonl"),
        (["replay", "lz4", "--as-of", "1700000000012", "--event", "cart"], "replay-as-of-cart.jsonl"),
    ])
    func outputMatchesGolden(arguments: [String], golden: String) async throws {
        let result = try await Tool.run(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Tool.matchesGolden(result.stdout, golden), "\(arguments) differs from Fixtures/tools/\(golden):\n\(result.stdout.prefix(2000))")
    }

    @Test func replayEqualsTheRecordsTheLibraryReads() async throws {
        let expected = try JSONDecoder().decode(
            [String: [[String: AnyCodable]]].self,
            from: Data(contentsOf: URL(fileURLWithPath: Tool.segments + "/lz4/expected.json")))["records"] ?? []
        let lines = try await Tool.run(["replay", "lz4"]).stdout.split(separator: "\n")
        #expect(lines.count == expected.count)
        for (line, record) in zip(lines, expected) {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            #expect((object["seq"] as? Int) == record["seq"]?.int)
            #expect(line.hasSuffix(#","data":\#(record["data"]?.string ?? "?")}"#))
        }
    }

    @Test func badPathsFailClearly() async throws {
        let empty = NSTemporaryDirectory() + "broker-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        for command in ["dump", "verify", "replay"] {
            let missing = try await Tool.run([command, "/no/such/path"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("/no/such/path: no such file or directory"))
            let notLog = try await Tool.run([command, empty])
            #expect(notLog.status == 1)
            #expect(notLog.stderr.contains("not a Broker data directory"))
            let otherFile = try await Tool.run([command, "lz4/expected.json"])
            #expect(otherFile.status == 1)
            #expect(otherFile.stderr.contains("not a Broker segment file"))
        }
    }

    @Test func replayStopsAtDamageNamingSegmentAndOffset() async throws {
        let result = try await Tool.run(["replay", "corrupt-sealed"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("00000000000000000001.seg: byte offset 32: CRC mismatch"))
    }
}

@Suite(.timeLimit(.minutes(2))) struct VerifyTests {
    @Test func soundLogsPass() async throws {
        for fixture in ["uncompressed", "lz4", "uncompressed/00000000000000000034.seg"] {
            let result = try await Tool.run(["verify", fixture])
            #expect(result.status == 0, "\(fixture): \(result.stdout)")
            #expect(result.stdout.hasPrefix("OK: "))
        }
        let summary = try await Tool.run(["verify", "uncompressed"]).stdout
        #expect(summary.hasPrefix("OK: 2 segment(s), 40 record(s), 4.8 KB in "))
    }

    @Test func aTornTailIsANoteNotAFailure() async throws {
        let result = try await Tool.run(["verify", "torn-tail"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("byte offset 2682: 64 bytes of an incomplete record"))
    }

    @Test func damageFailsWithSegmentAndOffset() async throws {
        let result = try await Tool.run(["verify", "corrupt-sealed"])
        #expect(result.status == 1)
        #expect(result.stdout.hasPrefix("corrupt-sealed/00000000000000000001.seg: byte offset 32: CRC mismatch (stored 0x8998E404, computed 0x4C5FB4C4)\nFAILED: 1 problem(s)"))
    }

    @Test func verifyNeverWrites() async throws {
        func snapshot() throws -> [Data] {
            try FileManager.default.contentsOfDirectory(atPath: Tool.segments + "/torn-tail").sorted().map {
                try Data(contentsOf: URL(fileURLWithPath: Tool.segments + "/torn-tail/" + $0))
            }
        }
        let before = try snapshot()
        _ = try await Tool.run(["verify", "torn-tail"])
        _ = try await Tool.run(["dump", "torn-tail"])
        #expect(try snapshot() == before)
    }
}

@Suite(.timeLimit(.minutes(3))) struct LiveLogToolTests {
    @Test func toolsReadWhileAWriterHoldsTheLogAndExitQuietlyOnAClosedPipe() async throws {
        let directory = NSTemporaryDirectory() + "broker-tools-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions(compression: true, durability: .never, segmentBytes: 256 << 10)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        for chunk in 0..<20 {
            _ = try await log.append((0..<250).map { AppendEntry(event: "e\($0 % 10)", data: Array("{\"n\":\(chunk * 250 + $0),\"pad\":\"\(String(repeating: "z", count: 100))\"}".utf8)) })
        }
        // The writer still holds the lock: the tools read without it.
        let verify = try await Tool.run(["verify", directory])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("5000 record(s)"))
        let replay = try await Tool.run(["replay", directory, "--event", "e3"])
        #expect(replay.stdout.split(separator: "\n").count == 500)
        // A closed pipe ends the output quietly, with status 0.
        for command in ["dump", "replay", "dump --json"] {
            let head = try await Tool.run([], shell: "BROKER \(command) '\(directory)' | head -n 2")
            #expect(head.status == 0, "\(command): \(head.stderr)")
            #expect(head.stderr.isEmpty, "\(command): \(head.stderr)")
            #expect(head.stdout.filter { $0 == "\n" }.count == 2)
        }
        // Appends keep going while readers read.
        _ = try await log.append(event: "late", data: Array("1".utf8))
        #expect(try await Tool.run(["replay", directory, "--event", "late"]).stdout == #"{"seq":5001,"event":"late","timestamp":"#
            + String(try #require(try log.latest(of: "late")).timestamp) + #","data":1}"# + "\n")
        await log.close()
        // Closing wrote a checkpoint: verify compares it with the segments.
        let closed = try await Tool.run(["verify", directory])
        #expect(closed.status == 0)
        #expect(closed.stdout.contains("CHECKPOINT: matches the segments up to seq 5001 ("), "\(closed.stdout)")
        var checkpoint = try #require(FileManager.default.contents(atPath: directory + "/CHECKPOINT"))
        checkpoint[12] ^= 0x01
        try checkpoint.write(to: URL(fileURLWithPath: directory + "/CHECKPOINT"))
        let damaged = try await Tool.run(["verify", directory])
        #expect(damaged.status == 0)
        #expect(damaged.stderr.contains("the next open ignores CHECKPOINT"), "\(damaged.stderr)")
    }
}

/// Decodes the fixtures' expected.json values without knowing their types.
struct AnyCodable: Decodable {
    let int: Int?
    let string: String?
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        int = try? container.decode(Int.self)
        string = try? container.decode(String.self)
    }
}
