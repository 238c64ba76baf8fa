import Foundation
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(2))) struct HistoryTests {
    /// 60 records alternating between three names, one ms apart.
    func makeLog(_ dir: TempDirectory) async throws -> EventLog {
        let clock = TestClock()
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096, clock: clock))
        for i in 1...60 { _ = try await log.append(event: ["a", "b", "c"][i % 3], data: [UInt8]("\(i)")) }
        return log
    }

    @Test func historyIsOldestFirstAndOnlyThatEvent() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try await makeLog(dir)
        let history = try #require(try log.history(of: "b"))
        #expect(history.map(\.text) == stride(from: 1, through: 58, by: 3).map { "\($0)" })
        #expect(history.allSatisfy { $0.event == "b" })
        #expect(try log.history(of: "nope") == nil)
        await log.close()
    }

    @Test func pagesByAfterAndLimitCoverEverythingOnce() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try await makeLog(dir)
        var pages: [[UInt64]] = []
        var after: UInt64 = 0
        for _ in 0..<10 {
            let page = try #require(try log.history(of: "a", after: after, limit: 7))
            if page.isEmpty { break }
            pages.append(page.map(\.seq))
            after = page.last!.seq
        }
        #expect(pages.count == 3)
        #expect(pages.flatMap { $0 } == Array(stride(from: 3, through: 60, by: 3)))
        #expect(pages.map(\.count) == [7, 7, 6])
        await log.close()
    }

    @Test func sinceAndUntilNarrowByTimestamp() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try await makeLog(dir)
        let all = try #require(try log.history(of: "c"))
        let from = all[3].timestamp
        let to = all[8].timestamp
        let window = try #require(try log.history(of: "c", since: from, until: to))
        #expect(window == Array(all[3...8]))
        #expect(try log.history(of: "c", since: to + 1000) == [])
        #expect(try log.history(of: "c", until: all[0].timestamp - 1) == [])
        #expect(try log.history(of: "c", since: from, until: to, after: all[5].seq, limit: 2) == Array(all[6...7]))
        await log.close()
    }

    @Test func historySurvivesReopen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try await makeLog(dir)
        let before = try log.history(of: "a")
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect(try reopened.history(of: "a") == before)
        await reopened.close()
    }
}
