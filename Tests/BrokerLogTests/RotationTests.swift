import BrokerStore
import Foundation
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(2))) struct RotationTests {
    @Test func noSegmentPassesTheLimitUnlessItHoldsOneLargeRecord() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let limit = 4096
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: limit))
        var sizes: [Int] = []
        for i in 0..<300 {
            // Mostly small records, with an oversized one now and then.
            let size = i % 50 == 7 ? 10_000 : (i * 37) % 400
            sizes.append(size)
            _ = try await log.append(event: "e\(i % 5)", data: [UInt8](repeating: UInt8(ascii: "a"), count: size))
        }
        await log.close()
        var seqs: [UInt64] = []
        for name in dir.segments() {
            let reader = try SegmentReader(path: dir.path + "/" + name)
            let inSegment = try frames(in: reader.path).map(\.seq)
            #expect(inSegment.first == reader.header.baseSeq)
            #expect(SegmentFileName.baseSeq(of: name) == reader.header.baseSeq)
            if reader.fileSize > limit {
                #expect(inSegment.count == 1, "\(name) is \(reader.fileSize) bytes with \(inSegment.count) records")
                #expect(sizes[Int(inSegment[0]) - 1] == 10_000)
            }
            seqs += inSegment
        }
        #expect(seqs == Array(1...300))
    }

    /// A batch is never split across segments (SPEC.md 2.4): one too large for any
    /// segment gets one to itself, and the next batch starts another.
    @Test func aBatchLargerThanASegmentGetsOneToItself() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        _ = try await log.append(event: "first", data: [UInt8](String(repeating: "y", count: 1000)))
        let batch = (0..<100).map { AppendEntry(event: "b\($0 % 4)", data: [UInt8](String(repeating: "z", count: 200))) }
        let records = try await log.append(batch)
        #expect(records.map(\.seq) == Array(2...101))
        #expect(dir.segments() == [SegmentFileName.name(forBaseSeq: 1), SegmentFileName.name(forBaseSeq: 2)])
        _ = try await log.append(event: "after", data: [1])
        #expect(dir.segments().last == SegmentFileName.name(forBaseSeq: 102))
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect(try allRecords(reopened).map(\.seq) == Array(1...102))
        #expect(try reopened.history(of: "b1")?.map(\.seq) == Array(stride(from: 3, through: 99, by: 4)))
        await reopened.close()
    }

    @Test func segmentNamesAreTwentyDigits() {
        #expect(SegmentFileName.name(forBaseSeq: 1) == "00000000000000000001.seg")
        #expect(SegmentFileName.baseSeq(of: "00000000000000012345.seg") == 12345)
        #expect(SegmentFileName.baseSeq(of: "12345.seg") == nil)
        #expect(SegmentFileName.baseSeq(of: "0000000000000001234x.seg") == nil)
    }
}
