import Foundation
import Testing

@testable import BrokerLog

/// The checkpoint's `lastTimestamp` is the timestamp of the last record it covers
/// (SPEC.md 2.6), and an open ignores a checkpoint where it is not.
@Suite(.timeLimit(.minutes(1))) struct CheckpointTimestampTests {
    @Test func aSealWritesTheLastCoveredTimestamp() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        // One millisecond a reading: the record that starts a segment is later than
        // every record the seal's checkpoint covers.
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096, clock: TestClock()))
        while dir.segments().count < 3 { _ = try await log.append(event: "e", data: Array(String(repeating: "7", count: 300).utf8)) }
        log.waitForCheckpoints()
        let checkpoint = try Checkpoint.decode(dir.bytes(of: CheckpointFile.name))
        let covered = try #require(checkpoint.segments.last?.lastSeq)
        let lastCovered = try #require(try allRecords(log).last { $0.seq <= covered })
        let next = try #require(try allRecords(log).first { $0.seq == covered + 1 })
        #expect(next.timestamp > lastCovered.timestamp)
        #expect(checkpoint.lastTimestamp == lastCovered.timestamp)
        await log.close()
    }

    @Test func aCheckpointWithAnotherLastTimestampIsIgnored() async throws {
        let dir = try await CheckpointAuditTests().closedLog()
        defer { dir.remove() }
        var checkpoint = try Checkpoint.decode(dir.bytes(of: CheckpointFile.name))
        let truth = checkpoint.lastTimestamp
        checkpoint.lastTimestamp += 1_000_000_000
        dir.write(checkpoint.encoded(), to: CheckpointFile.name)
        guard case .ignored(let why) = try CheckpointAudit.run(directory: dir.path) else {
            Issue.record("verify would pass it")
            return
        }
        #expect(why.contains("lastTimestamp"))
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect(log.openReport.ignoredCheckpoint?.contains("lastTimestamp") == true)
        let record = try await log.append(event: "after", data: Array("1".utf8))
        #expect(record.timestamp < truth + 1_000_000_000)
        await log.close()
    }
}
