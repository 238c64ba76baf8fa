import BrokerStore
import Foundation
import Testing

@testable import BrokerLog

/// Appending, reading back, reopening and the latest index.
@Suite(.timeLimit(.minutes(2))) struct EventLogTests {
    static let jsonShapes: [String] = [
        "null", "true", "false", "0", "-1", "3.141592653589793238462643383279", "1e400", "-0.0e-7",
        #""""#, #""plain""#, #""line\nbreak \"quoted\" \\ \u00e9 \ud83d\ude00""#, "\"unicode é 😀\"",
        "[]", "{}", "[1,[2,[3,[4,[5]]]]]", #"{"a":{"b":{"c":[null,true,{"d":"e"}]}}}"#,
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
        "\"" + String(repeating: "x", count: 100_000) + "\"",
    ]

    @Test(arguments: [false, true])
    func roundTripsEveryJSONShape(compression: Bool) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(compression: compression))
        for (index, shape) in Self.jsonShapes.enumerated() {
            let record = try await log.append(event: "shape\(index)", data: [UInt8](shape))
            #expect(record.seq == UInt64(index + 1))
            #expect(record.text == shape)
        }
        let read = try allRecords(log)
        #expect(read.map(\.text) == Self.jsonShapes)
        #expect(read.map(\.seq) == Array(1...UInt64(Self.jsonShapes.count)))
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test(compression: compression))
        #expect(try allRecords(reopened).map(\.text) == Self.jsonShapes)
        await reopened.close()
    }

    @Test func compressionShrinksRepetitiveDataAndNotTinyData() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(compression: true))
        let big = "[" + Array(repeating: #"{"k":"value"}"#, count: 500).joined(separator: ",") + "]"
        _ = try await log.append(event: "big", data: [UInt8](big))
        _ = try await log.append(event: "tiny", data: [UInt8]("1"))
        await log.close()
        let reader = try SegmentReader(path: dir.path + "/" + dir.segments()[0])
        #expect(try frames(in: reader.path).map(\.codec) == [.lz4, .raw])
        #expect(reader.fileSize < big.utf8.count / 4)
    }

    @Test func seqsKeepIncreasingAcrossReopen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        var seen: [UInt64] = []
        for round in 0..<3 {
            let log = try EventLog.open(directory: dir.path, options: .test())
            #expect(log.lastSeq == UInt64(round * 5))
            for i in 0..<5 { seen.append(try await log.append(event: "e\(i % 2)", data: [UInt8]("\(round)")).seq) }
            await log.close()
        }
        #expect(seen == Array(1...15))
    }

    @Test func freshLogStartsAtZero() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path + "/nested/data", options: .test())
        #expect(log.lastSeq == 0)
        #expect(try log.latest().isEmpty)
        #expect(try log.latest(of: "x") == nil)
        #expect(try log.history(of: "x") == nil)
        #expect(try allRecords(log).isEmpty)
        #expect(try await log.append(event: "x", data: [UInt8]("1")).seq == 1)
        await log.close()
    }

    @Test func reopenRebuildsTheSameLatestIndex() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(compression: true, segmentBytes: 8192))
        for i in 0..<500 {
            _ = try await log.append(event: "name\(i % 37)", data: [UInt8]("{\"i\":\(i)}"))
        }
        let before = try log.latest()
        #expect(before.count == 37)
        #expect(before.map(\.seq) == before.map(\.seq).sorted())
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test())
        #expect(try reopened.latest() == before)
        #expect(try reopened.latest(of: "name5")?.text == "{\"i\":486}")
        await reopened.close()
    }

    @Test func latestUpToAnEarlierSeqFollowsTheChain() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        for i in 1...10 { _ = try await log.append(event: i % 2 == 0 ? "even" : "odd", data: [UInt8]("\(i)")) }
        let asOf5 = try log.latest(upTo: 5)
        #expect(asOf5.map(\.seq) == [4, 5])
        #expect(try log.latest(upTo: 1).map(\.text) == ["1"])
        #expect(try log.latest(upTo: 0).isEmpty)
        await log.close()
    }

    @Test func readFromAnySeqAcrossSegments() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        let payload = [UInt8](String(repeating: "a", count: 300))
        for first in stride(from: 1, through: 200, by: 10) {
            _ = try await log.append((first..<(first + 10)).map { AppendEntry(event: "e\($0 % 3)", data: payload) })
        }
        #expect(dir.segments().count > 10)
        for start: UInt64 in [0, 1, 2, 13, 14, 15, 99, 150, 199, 200] {
            let records = try allRecords(log, from: start)
            #expect(records.map(\.seq) == Array(max(start, 1)...200), "from \(start)")
        }
        #expect(try allRecords(log, from: 201).isEmpty)
        await log.close()
    }

    @Test func rejectsInvalidNamesWithoutWriting() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        _ = try await log.append(event: "ok", data: [UInt8]("1"))
        let before = dir.contents()
        for bad in ["", String(repeating: "n", count: 257), "tab\there", "nul\u{0}", "del\u{7F}"] {
            await #expect(throws: LogError.self) { _ = try await log.append(event: bad, data: [UInt8]("1")) }
            await #expect(throws: LogError.self) {
                _ = try await log.append([AppendEntry(event: "fine", data: []), AppendEntry(event: bad, data: [])])
            }
        }
        #expect(dir.contents() == before)
        #expect(log.lastSeq == 1)
        // 256 bytes of multi-byte UTF-8 is fine.
        let wide = String(repeating: "é", count: 128)
        #expect(try await log.append(event: wide, data: []).event == wide)
        await log.close()
    }

    @Test func aSecondWriterIsRefused() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        #expect(throws: LogError.locked(path: dir.path)) { _ = try EventLog.open(directory: dir.path, options: .test()) }
        await log.close()
        let again = try EventLog.open(directory: dir.path, options: .test())
        await again.close()
    }

    @Test func appendsAfterCloseFail() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        _ = try await log.append(event: "a", data: [])
        await log.close()
        await #expect(throws: LogError.self) { _ = try await log.append(event: "a", data: []) }
    }

    @Test func openingAFileFailsClearly() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        dir.write([1, 2, 3], to: "plain")
        #expect(throws: LogError.notALog(path: dir.path + "/plain", reason: "is a file, not a data directory")) {
            _ = try EventLog.open(directory: dir.path + "/plain", options: .test())
        }
    }

    @Test func timestampsNeverGoBackwards() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let times = Locked<[Int64]>([0, 5000, 4000, 6000, 1000])
        var options = LogOptions.test()
        options.clock = { times.withLock { $0.isEmpty ? 7000 : $0.removeFirst() } }
        let log = try EventLog.open(directory: dir.path, options: options)
        var stamps: [Int64] = []
        for _ in 0..<4 { stamps.append(try await log.append(event: "t", data: []).timestamp) }
        #expect(stamps == [5000, 5000, 6000, 6000])
        await log.close()
    }
}
