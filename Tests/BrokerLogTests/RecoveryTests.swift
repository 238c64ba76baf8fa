import BrokerStore
import BrokerTestSupport
import Foundation
import Testing

@testable import BrokerLog

/// The error opening `dir` fails with, or nil when it opens (and is closed again).
func openFailure(_ dir: TempDirectory) async -> LogError? {
    let log: EventLog
    do { log = try EventLog.open(directory: dir.path, options: .test()) } catch { return error }
    await log.close()
    return nil
}

@Suite(.timeLimit(.minutes(2))) struct RecoveryTests {
    /// A log with two sealed segments and a newest one; returns the seqs and the newest
    /// segment's name and last-frame offset.
    func makeLog(_ dir: TempDirectory, compression: Bool = false) async throws -> (count: UInt64, newest: String, lastFrame: Int) {
        let log = try EventLog.open(directory: dir.path, options: .test(compression: compression, segmentBytes: 4096))
        var count: UInt64 = 0
        while dir.segments().count < 3 || count % 4 != 3 {
            count = try await log.append(event: "r\(count % 3)", data: [UInt8]("{\"n\":\(count),\"pad\":\"\(String(repeating: "p", count: 150))\"}"))
                .seq
        }
        await log.close()
        let newest = dir.segments().last!
        return (count, newest, try frames(in: dir.path + "/" + newest).last!.offset)
    }

    @Test(arguments: [false, true])
    func truncatingTheLastRecordAtEveryOffsetRecoversTheOneBefore(compression: Bool) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let (count, newest, lastFrame) = try await makeLog(dir, compression: compression)
        let original = dir.bytes(of: newest)
        let whole = try EventLog.open(directory: dir.path, options: .test())
        let expected = try allRecords(whole).dropLast()
        await whole.close()
        let path = dir.path
        for cut in lastFrame..<original.count {
            dir.write(Array(original[0..<cut]), to: newest)
            let log = try await onDispatchThread { try EventLog.open(directory: path, options: .test()) }
            #expect(log.lastSeq == count - 1, "cut at \(cut)")
            #expect(try allRecords(log) == Array(expected), "cut at \(cut)")
            #expect(dir.bytes(of: newest).count == lastFrame)
            // Appending goes on from the recovered point.
            #expect(try await log.append(event: "after", data: []).seq == count)
            await log.close()
        }
    }

    /// Every read after an open that walks records and then cuts a torn tail, and
    /// the appends that follow (SPEC.md 3.4): the latest index holds every walked
    /// record, each name's history is whole, and a new record of each name links to
    /// the previous one, so the chain check of the whole log passes after a reopen.
    /// The walker dropped its chain at the torn tail: the index fell back to the
    /// checkpoint's (or an empty one) and the next append broke the chain.
    @Test(arguments: [false, true])
    func anOpenThatCutsATornTailKeepsEveryWalkedRecordInTheIndex(keepCheckpoint: Bool) async throws {
        // A crash image: sealed segments with a checkpoint of them, and records past it in the newest.
        let live = TempDirectory()
        defer { live.remove() }
        let writer = try EventLog.open(directory: live.path, options: .test(segmentBytes: 4096))
        var count: UInt64 = 0
        while live.segments().count < 3 || count % 7 != 6 {
            count = try await writer.append(
                event: "r\(count % 3)", data: [UInt8]("{\"n\":\(count),\"pad\":\"\(String(repeating: "p", count: 150))\"}".utf8)
            ).seq
        }
        writer.waitForCheckpoints()
        let image = live.contents().keys.filter { $0 != "LOCK" }.map { ($0, live.bytes(of: $0)) }
        await writer.close()
        let newest = image.map(\.0).filter { $0.hasSuffix(".seg") }.max()!
        let original = image.first { $0.0 == newest }!.1
        for cut in [original.count - 1, original.count - 40] {
            let dir = TempDirectory()
            defer { dir.remove() }
            for (name, bytes) in image where keepCheckpoint || name != "CHECKPOINT" { dir.write(bytes, to: name) }
            dir.write(Array(original[0..<cut]), to: newest)
            let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
            #expect(log.openReport.checkpointSeq != nil && keepCheckpoint || log.openReport.checkpointSeq == nil && !keepCheckpoint)
            #expect(log.openReport.scannedBytes > 0, "the open walked records")
            var expected = try allRecords(log)
            #expect(expected.map(\.seq) == Array(1..<count), "cut at \(cut)")
            try Self.expectIndex(of: log, matches: expected, cut: cut)
            for name in ["r0", "r1", "r2"] { expected.append(try await log.append(event: name, data: Array("\"after\"".utf8))) }
            try Self.expectIndex(of: log, matches: expected, cut: cut)
            await log.close()
            let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
            try Self.expectIndex(of: reopened, matches: expected, cut: cut)
            await reopened.close()
            // `broker verify`'s chain check over every segment.
            let walker = LogWalker(
                try LogWalker<FailOnDamage>.Span.directory(dir.path), policy: FailOnDamage(), checkChain: true, checkTimestamps: true)
            while try walker.next() != nil {}
        }
    }

    /// The latest record of every name, each name's history and the snapshot read
    /// agree with `records`.
    static func expectIndex(of log: EventLog, matches records: [Record], cut: Int) throws {
        let names = Set(records.map(\.event))
        var latest: [Record] = []
        for name in names.sorted() {
            let history = records.filter { $0.event == name }
            #expect(try log.history(of: name) == history, "history of \(name), cut at \(cut)")
            #expect(try log.latest(of: name) == history.last, "latest of \(name), cut at \(cut)")
            latest.append(history.last!)
        }
        #expect(try log.latest() == latest.sorted { $0.seq < $1.seq }, "the snapshot, cut at \(cut)")
    }

    @Test func aZeroFilledOrGarbledTailIsCut() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let (count, newest, _) = try await makeLog(dir)
        let original = dir.bytes(of: newest)
        for tail in [[UInt8](repeating: 0, count: 4096), (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }] {
            dir.write(original + tail, to: newest)
            let log = try EventLog.open(directory: dir.path, options: .test())
            #expect(log.lastSeq == count)
            await log.close()
            #expect(dir.bytes(of: newest) == original)
        }
    }

    @Test func aGarbledLastPageRecoversToTheLastWholeRecordBeforeIt() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let (_, newest, _) = try await makeLog(dir)
        var bytes = dir.bytes(of: newest)
        let pageStart = max(SegmentHeader.size, bytes.count - 512)
        for i in pageStart..<bytes.count { bytes[i] ^= 0x5A }
        dir.write(bytes, to: newest)
        let log = try EventLog.open(directory: dir.path, options: .test())
        let records = try allRecords(log)
        #expect(!records.isEmpty)
        #expect(records.map(\.seq) == Array(1...UInt64(records.count)))
        #expect(dir.bytes(of: newest).count <= pageStart)
        await log.close()
    }

    /// Without a checkpoint the open reads every frame and fails at the damage. With
    /// one, the open may succeed (it checks only each segment's last frame), but the
    /// scrub finds the damage at the same offset and the log refuses appends. Either
    /// way no file changes.
    @Test(arguments: [false, true])
    func everyFlippedBitInASealedFrameIsFoundAndChangesNothing(useCheckpoint: Bool) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        _ = try await makeLog(dir)
        let sealed = dir.segments()[1]
        // The second frame of the segment: a whole frame, every bit.
        let second = try frames(in: dir.path + "/" + sealed)[1]
        let before = dir.contents()
        var options = LogOptions.test()
        options.useCheckpoint = useCheckpoint
        let foundByScrub = await Self.flipEveryBit(of: second, in: sealed, dir: dir, options: options)
        #expect(dir.contents() == before)
        // With a checkpoint, every flip in this (not last) frame is the scrub's to find.
        #expect(foundByScrub == (useCheckpoint ? second.size * 8 : 0))
    }

    /// Flips each bit of `frame` in segment `name`, one at a time, and expects the open
    /// (or the scrub) to report damage at the frame's offset and no file to change;
    /// puts the segment back after. Returns how many flips the scrub found.
    static func flipEveryBit(of frame: FrameInfo, in name: String, dir: TempDirectory, options: LogOptions) async -> Int {
        let original = dir.bytes(of: name)
        defer { dir.write(original, to: name) }
        var foundByScrub = 0
        for byte in frame.offset..<(frame.offset + frame.size) {
            for bit in 0..<8 {
                var damaged = original
                damaged[byte] ^= 1 << bit
                dir.write(damaged, to: name)
                let snapshot = dir.contents()
                let (failure, byScrub) = await damageFound(in: dir, options: options)
                if byScrub { foundByScrub += 1 }
                guard case .corrupt(let segment, let at, _)? = failure else {
                    Issue.record("byte \(byte) bit \(bit): gave \(String(describing: failure))")
                    continue
                }
                #expect(segment.hasSuffix(name) && at == frame.offset, "byte \(byte) bit \(bit): \(segment) at \(at)")
                #expect(dir.contents() == snapshot, "byte \(byte) bit \(bit) changed a file")
            }
        }
        return foundByScrub
    }

    /// The error the open fails with; or when it opens, the one the scrub finds, after
    /// checking that appends are then refused with it.
    /// The open and the scrub run on a Dispatch thread: called in loops, they would
    /// otherwise hold Swift concurrency's threads from every other test.
    static func damageFound(in dir: TempDirectory, options: LogOptions) async -> (LogError?, byScrub: Bool) {
        let path = dir.path
        let log: EventLog
        do { log = try await onDispatchThread { try EventLog.open(directory: path, options: options) } } catch {
            return (error as? LogError, false)
        }
        do { try await onDispatchThread { try log.scrub() } } catch {
            guard let error = error as? LogError else { return (nil, true) }
            #expect(log.failure == error)
            await #expect(throws: error) { _ = try await log.append(event: "after", data: []) }
            await log.close()
            return (error, true)
        }
        await log.close()
        return (nil, false)
    }

    @Test func aDamagedSealedHeaderFailsTheOpen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        _ = try await makeLog(dir)
        let first = dir.segments()[0]
        var bytes = dir.bytes(of: first)
        bytes[14] ^= 0x01
        dir.write(bytes, to: first)
        let before = dir.contents()
        #expect(throws: LogError.self) { _ = try EventLog.open(directory: dir.path, options: .test()) }
        #expect(dir.contents() == before)
    }

    @Test func aMissingSegmentIsADiscontinuity() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        _ = try await makeLog(dir)
        let middle = dir.segments()[1]
        try FileManager.default.removeItem(atPath: dir.path + "/" + middle)
        #expect {
            _ = try EventLog.open(directory: dir.path, options: .test())
        } throws: { error in
            guard case LogError.discontinuity = error else { return false }
            return true
        }
    }

    @Test func aNewestSegmentTornWhileBeingCreatedIsReset() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let (count, newest, _) = try await makeLog(dir)
        try FileManager.default.removeItem(atPath: dir.path + "/" + newest)
        let remaining = try EventLog.open(directory: dir.path, options: .test())
        let next = SegmentFileName.name(forBaseSeq: remaining.lastSeq + 1)
        #expect(remaining.lastSeq < count)
        await remaining.close()
        for torn in [[UInt8](), [0x42, 0x52, 0x4F], [UInt8](repeating: 0, count: 32), [UInt8](repeating: 0, count: 100)] {
            dir.write(torn, to: next)
            let log = try EventLog.open(directory: dir.path, options: .test())
            let seq = try await log.append(event: "new", data: []).seq
            #expect(SegmentFileName.name(forBaseSeq: seq) == next)
            await log.close()
            try FileManager.default.removeItem(atPath: dir.path + "/" + next)
        }
    }

    @Test func aNewestSegmentWithADamagedHeaderAndRecordsFailsTheOpen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let (_, newest, _) = try await makeLog(dir)
        var bytes = dir.bytes(of: newest)
        bytes[0] = 0
        dir.write(bytes, to: newest)
        let before = dir.contents()
        #expect(throws: LogError.self) { _ = try EventLog.open(directory: dir.path, options: .test()) }
        #expect(dir.contents() == before)
    }
}
