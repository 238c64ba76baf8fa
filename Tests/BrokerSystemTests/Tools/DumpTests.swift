import BrokerLog
import BrokerTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(2))) struct DumpTests {
    @Test(arguments: [
        (["dump", "uncompressed"], "dump-uncompressed.txt"),
        (["dump", "--json", "lz4"], "dump-lz4.jsonl"),
        (["dump", "--stats", "lz4"], "dump-stats-lz4.txt"),
        (["dump", "--stats", "--json", "uncompressed"], "dump-stats-uncompressed.jsonl"),
        (["dump", "corrupt-sealed"], "dump-corrupt-sealed.txt"),
        (["dump", "torn-tail/00000000000000000001.seg"], "dump-torn-tail.txt"),
        (["dump", "batches"], "dump-batches.txt"),
        (["dump", "--json", "torn-batch"], "dump-torn-batch.jsonl"),
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
        let expected =
            try JSONDecoder().decode(
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
