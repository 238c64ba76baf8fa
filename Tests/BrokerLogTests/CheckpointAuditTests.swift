import Foundation
import Testing

@testable import BrokerLog

/// What `broker verify` says of a checkpoint.
@Suite(.timeLimit(.minutes(1))) struct CheckpointAuditTests {
    func closedLog() async throws -> TempDirectory {
        let dir = TempDirectory()
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        for n in 0..<120 {
            _ = try await log.append(event: "name\(n % 9)", data: Array("{\"n\":\(n),\"pad\":\"\(String(repeating: "y", count: 40))\"}".utf8))
        }
        await log.close()
        return dir
    }

    @Test func aCheckpointWrittenByCloseMatchesTheSegments() async throws {
        let dir = try await closedLog()
        defer { dir.remove() }
        #expect(try CheckpointAudit.run(directory: dir.path) == .consistent(lastSeq: 120, segments: dir.segments().count, names: 9))
    }

    @Test func noCheckpointAndADamagedOneAreNotFailures() async throws {
        let dir = try await closedLog()
        defer { dir.remove() }
        var bytes = dir.bytes(of: CheckpointFile.name)
        bytes[20] ^= 0xFF
        dir.write(bytes, to: CheckpointFile.name)
        guard case .ignored = try CheckpointAudit.run(directory: dir.path) else {
            Issue.record("not ignored")
            return
        }
        try FileManager.default.removeItem(atPath: dir.path + "/" + CheckpointFile.name)
        #expect(try CheckpointAudit.run(directory: dir.path) == .absent)
    }

    /// A checkpoint with a valid CRC and matching segments but a wrong index entry,
    /// or a wrong sparse offset table, would be used by the next open: verify fails.
    @Test(arguments: ["index", "offsets"])
    func aCheckpointThatDisagreesWithTheSegmentsIsReported(_ part: String) async throws {
        let dir = try await closedLog()
        defer { dir.remove() }
        var checkpoint = try Checkpoint.decode(dir.bytes(of: CheckpointFile.name))
        if part == "index" {
            let real = try #require(checkpoint.latest["name3"])
            checkpoint.latest.update("name3", to: RecordLocation(seq: real.seq - 9, offset: real.offset))
        } else {
            checkpoint.segments[0].offsets = SparseOffsetIndex()
            checkpoint.segments[0].offsets.note(seq: 2, offset: 100)
        }
        dir.write(checkpoint.encoded(), to: CheckpointFile.name)
        guard case .inconsistent(let difference) = try CheckpointAudit.run(directory: dir.path) else {
            Issue.record("not reported")
            return
        }
        #expect(difference.contains(part == "index" ? "name3" : dir.segments()[0]), "\(difference)")
    }
}
