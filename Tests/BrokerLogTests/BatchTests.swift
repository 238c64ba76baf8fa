import BrokerStore
import BrokerTestSupport
import Foundation
import Testing

@testable import BrokerLog

/// Batches are atomic (SPEC.md 2.3 rule 6, 2.4, 3.3, 3.4): stored with consecutive
/// seqs and one timestamp, or not at all, through a failed write, a torn write and
/// damage, and no reader hands over part of one.
@Suite(.timeLimit(.minutes(2))) struct BatchTests {
    static func batch(_ count: Int, name: String = "b") -> [AppendEntry] {
        (0..<count).map { AppendEntry(event: "\(name)\($0 % 3)", data: [UInt8]("{\"n\":\($0)}")) }
    }

    @Test func aBatchGetsConsecutiveSeqsOneTimestampAndItsFlags() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        _ = try await log.append(event: "single", data: [1])
        let records = try await log.append(Self.batch(5))
        #expect(records.map(\.seq) == Array(2...6))
        #expect(Set(records.map(\.timestamp)).count == 1)
        await log.close()
        let walker = LogWalker([.init(try SegmentReader(path: dir.path + "/" + dir.segments()[0]))], policy: FailOnDamage())
        var continues: [Bool] = []
        while let item = try walker.next() { if case .frame(let frame, _, _) = item { continues.append(frame.continuesBatch) } }
        #expect(continues == [false, true, true, true, true, false])
    }

    @Test(arguments: [0, 100])
    func aFailedWriteOfABatchStoresNothing(partialBytes: Int) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let faults = SwitchableFaults()
        var options = LogOptions.test(segmentBytes: 4096)
        options.faults = faults
        let log = try EventLog.open(directory: dir.path, options: options)
        _ = try await log.append(Self.batch(3))
        let before = dir.contents()
        faults.failWrites(afterWriting: partialBytes)
        // A batch that would rotate the segment, and one that would not.
        let large = (0..<40).map { _ in AppendEntry(event: "big", data: [UInt8](repeating: UInt8(ascii: "x"), count: 200)) }
        await #expect(throws: LogError.self) { _ = try await log.append(large) }
        await #expect(throws: LogError.self) { _ = try await log.append(Self.batch(4)) }
        #expect(log.lastSeq == 3)
        #expect(try log.latest(of: "big") == nil)
        faults.heal()
        #expect(try await log.append(Self.batch(2)).map(\.seq) == [4, 5])
        await log.close()
        #expect(dir.contents().keys.filter { $0.hasSuffix(".seg") }.count >= before.keys.filter { $0.hasSuffix(".seg") }.count)
        let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect(try allRecords(reopened).map(\.seq) == [1, 2, 3, 4, 5])
        await reopened.close()
    }

    /// A crash mid-write leaves any prefix of a batch's bytes: recovery cuts back to
    /// the batch's first frame, wherever the cut falls, with or without zeros after it.
    @Test func aTornBatchIsCutAtItsFirstFrameWhereverItBreaks() async throws {
        let source = TempDirectory()
        defer { source.remove() }
        let log = try EventLog.open(directory: source.path, options: .test())
        _ = try await log.append(Self.batch(2, name: "before"))
        _ = try await log.append(Self.batch(4, name: "torn"))
        await log.close()
        let name = source.segments()[0]
        let whole = source.bytes(of: name)
        let firstFrameOfBatch = try frames(in: source.path + "/" + name)[2].offset
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.path
        for cut in (firstFrameOfBatch + 1)..<whole.count {
            for zeros in [0, 64] {
                dir.write(Array(whole[0..<cut]) + [UInt8](repeating: 0, count: zeros), to: name)
                let opened = try await onDispatchThread { try EventLog.open(directory: path, options: .test()) }
                #expect(try allRecords(opened).map(\.seq) == [1, 2], "cut at \(cut), \(zeros) zeros")
                #expect(try opened.latest(of: "torn0") == nil)
                #expect(dir.bytes(of: name).count == firstFrameOfBatch, "cut at \(cut)")
                await opened.close()
            }
        }
    }

    @Test func aSealedSegmentEndingInsideABatchIsDamage() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        var first = SegmentBuilder(baseSeq: 1)
        first.frame(seq: 1)
        first.frame(seq: 2, prevSeq: 1, prevOffset: UInt32(first.frameOffsets[0]), continuesBatch: true)
        var second = SegmentBuilder(baseSeq: 3)
        second.frame(seq: 3, prevSeq: 2, prevOffset: UInt32(first.frameOffsets[1]))
        dir.write(first.bytes, to: SegmentFileName.name(forBaseSeq: 1))
        dir.write(second.bytes, to: SegmentFileName.name(forBaseSeq: 3))
        #expect(
            throws: LogError.corrupt(
                segment: dir.path + "/" + SegmentFileName.name(forBaseSeq: 1), offset: first.frameOffsets[1],
                problem: .incompleteBatch(firstSeq: 2, records: 1))
        ) { _ = try EventLog.open(directory: dir.path, options: .test()) }
    }

    @Test func aDamagedFrameInsideABatchWithFramesAfterItIsRefusedNotCut() throws {
        var segment = SegmentBuilder(baseSeq: 1)
        for seq: UInt64 in 1...3 { segment.frame(seq: seq, event: "n\(seq)", continuesBatch: seq < 3) }
        segment.frame(seq: 4, event: "after")
        segment.flip(segment.frameOffsets[1] + 30)
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write(segment.bytes, to: SegmentFileName.name(forBaseSeq: 1))
        let before = dir.contents()
        #expect(
            throws: LogError.corrupt(
                segment: dir.path + "/" + SegmentFileName.name(forBaseSeq: 1), offset: segment.frameOffsets[0],
                problem: .incompleteBatch(firstSeq: 1, records: 1))
        ) { _ = try EventLog.open(directory: dir.path, options: .test()) }
        #expect(dir.contents() == before)
    }

    @Test func aKeyInsideABatchIsDamage() throws {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1, continuesBatch: true)
        segment.frame(seq: 2, prevSeq: 1, prevOffset: 32, key: IdempotencyKey("k", requestDigest: 1))
        segment.frame(seq: 3, prevSeq: 2, prevOffset: UInt32(segment.frameOffsets[1]))
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write(segment.bytes, to: SegmentFileName.name(forBaseSeq: 1))
        #expect(
            throws: LogError.corrupt(
                segment: dir.path + "/" + SegmentFileName.name(forBaseSeq: 1), offset: segment.frameOffsets[1], problem: .keyInsideBatch(seq: 2))
        ) {
            _ = try EventLog.open(directory: dir.path, options: .test())
        }
    }

    /// A version-1 log (the fixture) stays readable; the first new record starts a
    /// version-2 segment, and both read back.
    @Test func aVersionOneLogIsReadAndContinuedInANewSegment() async throws {
        let dir = try FixtureTests.copy("uncompressed")
        defer { dir.remove() }
        let old = try SegmentReader(path: dir.path + "/" + dir.segments().last!)
        #expect(old.header.version == 1)
        let log = try EventLog.open(directory: dir.path, options: .test())
        let before = try allRecords(log)
        let added = try await log.append(Self.batch(3))
        await log.close()
        let newest = try SegmentReader(path: dir.path + "/" + dir.segments().last!)
        #expect(newest.header.version == 2 && newest.header.baseSeq == added[0].seq)
        let reopened = try EventLog.open(directory: dir.path, options: .test())
        #expect(try allRecords(reopened).map(\.seq) == before.map(\.seq) + added.map(\.seq))
        await reopened.close()
    }

    @Test func lastSeqAtOrBeforeATimeFindsTheInstantAcrossSegments() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let clock = TestClock()
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096, clock: clock))
        var stamps: [(UInt64, Int64)] = []
        for n in 0..<300 {
            let record = try await log.append(event: "e\(n % 7)", data: [UInt8](repeating: UInt8(ascii: "a"), count: 100))
            stamps.append((record.seq, record.timestamp))
        }
        #expect(dir.segments().count > 5)
        #expect(try log.lastSeq(atOrBefore: 0) == 0)
        for (seq, timestamp) in stamps where seq % 13 == 0 || seq == 1 || seq == 300 {
            #expect(try log.lastSeq(atOrBefore: timestamp) == seq)
        }
        #expect(try log.lastSeq(atOrBefore: .max) == 300)
        let asOf = try log.latest(upTo: try log.lastSeq(atOrBefore: stamps[99].1))
        #expect(asOf.map(\.seq) == Array(94...100))
        await log.close()
    }
}
