import BrokerLog
import BrokerStore
import BrokerTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(3))) struct LiveLogToolTests {
    @Test func toolsReadWhileAWriterHoldsTheLogAndExitQuietlyOnAClosedPipe() async throws {
        let directory = NSTemporaryDirectory() + "broker-tools-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions(compression: true, durability: .never, segmentBytes: 256 << 10)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        for chunk in 0..<20 {
            _ = try await log.append(
                (0..<250).map {
                    AppendEntry(
                        event: "e\($0 % 10)", data: Array("{\"n\":\(chunk * 250 + $0),\"pad\":\"\(String(repeating: "z", count: 100))\"}".utf8))
                })
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
        #expect(
            try await Tool.run(["replay", directory, "--event", "late"]).stdout == #"{"seq":5001,"event":"late","timestamp":"#
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
