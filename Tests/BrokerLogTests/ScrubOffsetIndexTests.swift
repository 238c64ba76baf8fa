import Foundation
import Testing

@testable import BrokerLog

/// The open only range-checks a checkpoint's sparse offset index (SPEC.md 2.6); the
/// scrub rebuilds it from the frames and puts it in place of a wrong one.
@Suite(.timeLimit(.minutes(1))) struct ScrubOffsetIndexTests {
    @Test func theScrubReplacesAWrongSparseIndex() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let first = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 8192))
        for n in 0..<200 {
            _ = try await first.append(event: "e\(n % 7)", data: Array("{\"n\":\(n),\"pad\":\"\(String(repeating: "z", count: 80))\"}".utf8))
        }
        let expected = try allRecords(first)
        await first.close()
        // Within the ranges the open checks, but pointing into the middle of a frame.
        var checkpoint = try Checkpoint.decode(dir.bytes(of: CheckpointFile.name))
        let covered = checkpoint.segments[0]
        checkpoint.segments[0].offsets = SparseOffsetIndex()
        checkpoint.segments[0].offsets.note(seq: covered.baseSeq, offset: SegmentHeader.size)
        checkpoint.segments[0].offsets.note(seq: covered.lastSeq - 2, offset: SegmentHeader.size + 4100)
        dir.write(checkpoint.encoded(), to: CheckpointFile.name)

        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 8192))
        #expect(log.openReport.checkpointSeq != nil)
        #expect(throws: LogError.self) { _ = try allRecords(log, from: covered.lastSeq - 1) }
        try log.scrub()
        #expect(log.failure == nil)
        #expect(try allRecords(log) == expected)
        #expect(try allRecords(log, from: covered.lastSeq - 1) == Array(expected.drop { $0.seq < covered.lastSeq - 1 }))
        await log.close()
    }
}
