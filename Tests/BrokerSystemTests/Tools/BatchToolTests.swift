import BrokerLog
import BrokerStore
import BrokerTestSupport
import Foundation
import Testing

/// What the tools show of batches and keys (SPEC.md 5.2): `dump` marks batch
/// boundaries and keys, `verify` fails on an incomplete batch anywhere but a cut tail,
/// `replay` never prints part of a batch, and `--prefix` narrows `dump` and `replay`.
@Suite(.timeLimit(.minutes(2))) struct BatchToolTests {
    func directory(_ files: [String: [UInt8]]) throws -> String { try Tool.scratchDirectory("batch-tool", files) }

    /// seq 1 alone, seqs 2 to 4 a keyed batch, then (when `tornTail`) the first two
    /// frames of a batch of three with no last frame.
    func segment(tornTail: Bool = false, endsInsideABatch: Bool = false) -> SegmentBuilder {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1, event: "sensor/1", data: "1")
        segment.frame(seq: 2, event: "sensor/2", data: "2", continuesBatch: true, key: IdempotencyKey("order-7", requestDigest: 9))
        segment.frame(seq: 3, event: "other", data: "3", continuesBatch: true)
        segment.frame(seq: 4, event: "sensor/1", data: "4", prevSeq: 1, prevOffset: 32)
        if tornTail || endsInsideABatch {
            segment.frame(seq: 5, event: "late", data: "5", continuesBatch: true)
            if tornTail { segment.frame(seq: 6, event: "late", data: "6", continuesBatch: true) }
        }
        return segment
    }

    @Test func dumpShowsBatchesAndKeys() async throws {
        let dir = try directory([SegmentFileName.name(forBaseSeq: 1): segment().bytes])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try await Tool.run(["dump", dir])
        #expect(text.status == 0)
        #expect(text.stdout.contains(#"  -- batch: seq 2 to 4 (3 records), idempotency key "order-7""#), "\(text.stdout)")
        let json = try await Tool.run(["dump", "--json", dir])
        #expect(json.stdout.contains(#"{"type":"batch","firstSeq":2,"lastSeq":4,"records":3,"idempotencyKey":"order-7"}"#), "\(json.stdout)")
        let prefixed = try await Tool.run(["dump", "--json", "--prefix", "sensor/", dir])
        let seqs = prefixed.stdout.split(separator: "\n").compactMap { line -> Int? in
            guard line.contains(#""type":"record""#) else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["seq"] as? Int
        }
        #expect(seqs == [1, 2, 4])
        let replay = try await Tool.run(["replay", "--prefix", "sensor/", "--event", "other", dir])
        #expect(replay.stdout.split(separator: "\n").count == 4)
        let asOf = try await Tool.run(["replay", "--as-of", "1700000000000", "--prefix", "sensor/", dir])
        #expect(asOf.stdout.split(separator: "\n").count == 2, "\(asOf.stdout)")
    }

    @Test func aTornBatchAtTheTailIsANoteAndNoPartOfItIsPrinted() async throws {
        let built = segment(tornTail: true)
        let dir = try directory([SegmentFileName.name(forBaseSeq: 1): built.bytes])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stderr.contains("byte offset \(built.frameOffsets[4])"), "\(verify.stderr)")
        let replay = try await Tool.run(["replay", dir])
        #expect(replay.status == 0)
        #expect(replay.stdout.split(separator: "\n").count == 4)
        let dump = try await Tool.run(["dump", dir])
        #expect(dump.stdout.contains(".. \(dir)/\(SegmentFileName.name(forBaseSeq: 1)): byte offset \(built.frameOffsets[4])"), "\(dump.stdout)")
        #expect(!dump.stdout.contains("late"))
    }

    @Test func aSealedSegmentEndingInsideABatchFailsVerify() async throws {
        let first = segment(endsInsideABatch: true)
        var second = SegmentBuilder(baseSeq: 6)
        second.frame(seq: 6, event: "next")
        let dir = try directory([SegmentFileName.name(forBaseSeq: 1): first.bytes, SegmentFileName.name(forBaseSeq: 6): second.bytes])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 1)
        #expect(
            verify.stdout.contains("byte offset \(first.frameOffsets[4]): batch starting at seq 5 is incomplete: 1 record(s) with no last record"),
            "\(verify.stdout)")
        let replay = try await Tool.run(["replay", dir])
        #expect(replay.status == 1)
        #expect(replay.stderr.contains("batch starting at seq 5 is incomplete"))
    }
}
