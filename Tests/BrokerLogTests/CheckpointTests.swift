import BrokerStore
import Foundation
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(2))) struct CheckpointTests {
    /// Appends `count` records over 30 names into 4 KiB segments.
    func fill(_ log: EventLog, count: Int, from start: Int = 0) async throws {
        for n in start..<(start + count) {
            _ = try await log.append(event: "name\(n % 30)", data: [UInt8]("{\"n\":\(n),\"pad\":\"\(String(repeating: "x", count: n % 90))\"}"))
        }
    }

    /// Everything a reader can observe of a log: every record and every name's latest
    /// record and history.
    func observable(_ log: EventLog) throws -> [String] {
        var seen = try allRecords(log).map { "\($0)" }
        for record in try log.latest().sorted(by: { $0.event < $1.event }) {
            seen.append("latest \(record)")
            seen.append("history \(record.event) \(try log.history(of: record.event)?.map(\.seq) ?? [])")
        }
        seen.append("last \(log.lastSeq)")
        return seen
    }

    /// What a full scan (no checkpoint) of `dir` observes.
    func rebuilt(_ dir: TempDirectory) async throws -> [String] {
        var options = LogOptions.test(segmentBytes: 4096)
        options.useCheckpoint = false
        let log = try EventLog.open(directory: dir.path, options: options)
        defer { Task { await log.close() } }
        #expect(log.openReport.checkpointSeq == nil)
        let seen = try observable(log)
        await log.close()
        return seen
    }

    @Test(arguments: [false, true])
    func aCleanCloseLetsTheNextOpenReadNoFrame(compression: Bool) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let first = try EventLog.open(directory: dir.path, options: .test(compression: compression, segmentBytes: 4096))
        try await fill(first, count: 400)
        await first.close()
        #expect(dir.segments().count > 5)
        let closed = copy(of: dir)
        defer { closed.remove() }

        let log = try EventLog.open(directory: dir.path, options: .test(compression: compression, segmentBytes: 4096))
        #expect(log.openReport.checkpointSeq == 400)
        #expect(log.openReport.scannedBytes == 0)
        #expect(log.openReport.ignoredCheckpoint == nil)
        let seen = try observable(log)
        // Appends go on from the checkpoint's index: the name chain stays whole.
        try await fill(log, count: 50, from: 400)
        let after = try observable(log)
        await log.close()
        let expectedSeen = try await rebuilt(closed)
        let expectedAfter = try await rebuilt(dir)
        #expect(seen == expectedSeen)
        #expect(after == expectedAfter)
    }

    /// A copy of `dir`'s files as they are now (a crash, when the log is open).
    func copy(of dir: TempDirectory) -> TempDirectory {
        let copy = TempDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] where name != "LOCK" {
            copy.write(dir.bytes(of: name), to: name)
        }
        return copy
    }

    @Test func aCrashAfterSealingReadsOnlyWhatFollowsTheCheckpoint() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        try await fill(log, count: 300)
        log.waitForCheckpoints()
        let crashed = copy(of: dir)
        defer { crashed.remove() }
        await log.close()
        let segments = crashed.segments()
        let newest = crashed.bytes(of: segments.last!)
        let sealedLastSeq = SegmentFileName.baseSeq(of: segments.last!)! - 1

        let reopened = try EventLog.open(directory: crashed.path, options: .test(segmentBytes: 4096))
        #expect(reopened.openReport.checkpointSeq == sealedLastSeq)
        #expect(reopened.openReport.scannedBytes == newest.count - SegmentHeader.size)
        #expect(reopened.lastSeq == 300)
        let seen = try observable(reopened)
        await reopened.close()
        let expected = try await rebuilt(crashed)
        #expect(seen == expected)
    }

    @Test func aCheckpointCoveringPartOfASegmentIsContinued() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let first = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 1 << 20))
        try await fill(first, count: 40)
        await first.close()
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 1 << 20))
        try await fill(log, count: 40, from: 40)
        let crashed = copy(of: dir)
        defer { crashed.remove() }
        await log.close()
        let reopened = try EventLog.open(directory: crashed.path, options: .test(segmentBytes: 1 << 20))
        #expect(reopened.openReport.checkpointSeq == 40)
        #expect(reopened.openReport.scannedBytes > 0)
        let seen = try observable(reopened)
        await reopened.close()
        let expected = try await rebuilt(crashed)
        #expect(seen == expected)
    }

    /// A damaged checkpoint, one from another log, or one that no longer matches the
    /// segments is ignored: the open reads everything and sees what a full scan sees.
    /// (An older but matching checkpoint is used, and what follows it read.)
    @Test(arguments: [
        "flipped byte", "truncated", "empty", "other log", "older checkpoint", "first segment removed", "sealed segment cut",
        "a name with a control character", "a name that is not UTF-8",
    ])
    func anUnusableCheckpointIsIgnored(_ damage: String) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        try await fill(log, count: 200)
        await log.close()
        var checkpoint = dir.bytes(of: CheckpointFile.name)
        let segments = dir.segments()
        switch damage {
        case "flipped byte":
            for position in stride(from: 3, to: checkpoint.count, by: 97) { checkpoint[position] ^= 0x10 }
            dir.write(checkpoint, to: CheckpointFile.name)
        case "truncated":
            dir.write(Array(checkpoint.dropLast(9)), to: CheckpointFile.name)
        case "empty":
            dir.write([], to: CheckpointFile.name)
        case "other log":
            let other = TempDirectory()
            defer { other.remove() }
            let otherLog = try EventLog.open(directory: other.path, options: .test(segmentBytes: 4096))
            try await fill(otherLog, count: 200, from: 1)
            await otherLog.close()
            dir.write(other.bytes(of: CheckpointFile.name), to: CheckpointFile.name)
        case "older checkpoint":
            // Not damage: a checkpoint from before later appends (and seals) is still
            // valid, and the open reads only what follows it.
            let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
            try await fill(reopened, count: 60, from: 200)
            await reopened.close()
            dir.write(checkpoint, to: CheckpointFile.name)
        case "first segment removed":
            try FileManager.default.removeItem(atPath: dir.path + "/" + segments[0])
        case "a name with a control character", "a name that is not UTF-8":
            // A name entry no frame could hold (SPEC 2.6 check 2), with a good CRC: used,
            // it would make the latest index name a record by a name it does not have.
            let entry: [UInt8] = [5, 0] + Array("name7".utf8)
            let at = try #require((0...(checkpoint.count - entry.count)).first { Array(checkpoint[$0..<($0 + entry.count)]) == entry })
            checkpoint[at + 3] = damage.contains("control") ? 0x01 : 0xFF
            dir.write(Self.withCRC(Array(checkpoint.dropLast(4))), to: CheckpointFile.name)
        case "sealed segment cut":
            let middle = segments[1]
            var bytes = dir.bytes(of: middle)
            bytes.removeLast(10)
            dir.write(bytes, to: middle)
        default:
            Issue.record("unknown damage \(damage)")
        }
        let reopened: EventLog
        do { reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096)) } catch {
            // The damage is in the segments themselves: a full scan fails the same way.
            #expect(damage == "sealed segment cut", "\(damage): \(error)")
            await #expect(throws: LogError.self) { _ = try await rebuilt(dir) }
            return
        }
        if damage == "older checkpoint" {
            #expect(reopened.openReport.checkpointSeq == 200)
            #expect(reopened.openReport.scannedBytes > 0)
        } else {
            #expect(reopened.openReport.checkpointSeq == nil, "\(damage)")
            #expect(reopened.openReport.ignoredCheckpoint != nil, "\(damage)")
        }
        let seen = try observable(reopened)
        await reopened.close()
        let expected = try await rebuilt(dir)
        #expect(seen == expected, "\(damage)")
    }

    /// `body` followed by its CRC-32C, as a checkpoint file ends.
    static func withCRC(_ body: [UInt8]) -> [UInt8] {
        body + withUnsafeBytes(of: CRC32C.checksum(body).littleEndian) { Array($0) }
    }

    /// SPEC 2.6 check 2: a key is listed once (the idempotency table holds one entry a key).
    @Test func aKeyListedTwiceIsRefused() throws {
        var checkpoint = Checkpoint(
            lastTimestamp: 1,
            segments: [.init(baseSeq: 1, lastSeq: 10, coveredBytes: 1000, lastFrameOffset: 900, lastFrameCRC: 1, offsets: SparseOffsetIndex())],
            latest: LatestIndex())
        checkpoint.keys.insert(IdempotencyKey("first", requestDigest: 1)!, firstSeq: 1, count: 2, timestamp: 1)
        checkpoint.keys.insert(IdempotencyKey("second", requestDigest: 2)!, firstSeq: 5, count: 1, timestamp: 1)
        var bytes = Array(checkpoint.encoded().dropLast(4))
        #expect(throws: Never.self) { _ = try Checkpoint.decode(Self.withCRC(bytes)) }
        // The second entry's key digest made the first's: the same key twice.
        let second = bytes.count - 44
        bytes.replaceSubrange(second..<(second + 16), with: bytes[(second - 44)..<(second - 28)])
        #expect(throws: CheckpointProblem.self) { _ = try Checkpoint.decode(Self.withCRC(bytes)) }
    }

    @Test func encodingAndDecodingKeepEveryField() throws {
        var latest = LatestIndex()
        for n in 0..<500 { latest.update("name-\(n)", to: RecordLocation(seq: UInt64(n + 1), offset: UInt32(32 + n * 40))) }
        var offsets = SparseOffsetIndex()
        for n in 0..<20 { offsets.note(seq: UInt64(n * 100 + 1), offset: 32 + n * 5000) }
        let checkpoint = Checkpoint(
            lastTimestamp: -5,
            segments: [
                .init(baseSeq: 1, lastSeq: 2000, coveredBytes: 99_000, lastFrameOffset: 98_000, lastFrameCRC: 0xDEAD_BEEF, offsets: offsets),
                .init(baseSeq: 2001, lastSeq: 2000, coveredBytes: 32, lastFrameOffset: 0, lastFrameCRC: 0, offsets: SparseOffsetIndex()),
            ],
            latest: latest)
        var withKeys = checkpoint
        for n in 0..<50 {
            withKeys.keys.insert(IdempotencyKey("k\(n)", requestDigest: UInt64(n))!, firstSeq: UInt64(n * 10 + 1), count: 3, timestamp: Int64(n))
        }
        let keyed = try Checkpoint.decode(withKeys.encoded())
        var entries: [IdempotencyTable.Entry] = []
        keyed.keys.forEach { entries.append($0) }
        var expected: [IdempotencyTable.Entry] = []
        withKeys.keys.forEach { expected.append($0) }
        #expect(entries == expected && entries.count == 50)
        // Version 1 (no key section) still decodes, with no keys.
        var version1 = Array(checkpoint.encoded().dropLast(4 + 8))
        version1[8] = 1
        version1 += withUnsafeBytes(of: CRC32C.checksum(version1).littleEndian) { Array($0) }
        #expect(try Checkpoint.decode(version1).keys.count == 0)
        #expect(try Checkpoint.decode(version1).latest.count == 500)
        let bytes = checkpoint.encoded()
        let decoded = try Checkpoint.decode(bytes)
        #expect(decoded.lastTimestamp == -5)
        #expect(decoded.segments == checkpoint.segments)
        #expect(decoded.latest.count == 500)
        for n in 0..<500 { #expect(decoded.latest["name-\(n)"] == latest["name-\(n)"]) }
        // Every shorter prefix is refused, never misread.
        for length in 0..<bytes.count {
            #expect(throws: CheckpointProblem.self) { _ = try Checkpoint.decode(Array(bytes[0..<length])) }
        }
    }
}
