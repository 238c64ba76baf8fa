import BrokerStore
import Testing

@testable import BrokerLog

/// Expected seqs (SPEC.md 3.1): checked against the latest record of each name with
/// the append, under the writer's lock, so a read-modify-write loses no update.
@Suite(.timeLimit(.minutes(2))) struct ExpectedSeqTests {
    @Test func aConflictStoresNothingAndListsEveryConflict() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        #expect(try await log.append([AppendEntry(event: "form", data: [1], expectedSeq: 0)]).map(\.seq) == [1])
        #expect(try await log.append([AppendEntry(event: "form", data: [2], expectedSeq: 1)]).map(\.seq) == [2])
        await #expect(
            throws: LogError.seqConflict([
                SeqConflict(index: 0, event: "form", expectedSeq: 1, currentSeq: 2),
                SeqConflict(index: 2, event: "new", expectedSeq: 5, currentSeq: 0),
            ])
        ) {
            _ = try await log.append([
                AppendEntry(event: "form", data: [3], expectedSeq: 1), AppendEntry(event: "other", data: [4]),
                AppendEntry(event: "new", data: [5], expectedSeq: 5),
            ])
        }
        #expect(log.lastSeq == 2)
        #expect(try log.latest(of: "other") == nil)
        await log.close()
    }

    /// 64 clients each read the latest value of one name, add one and write it back
    /// with the seq they read: every seq is won by exactly one writer, and the final
    /// value counts every successful write.
    @Test func sixtyFourReadModifyWriteClientsLoseNoUpdate() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        _ = try await log.append(event: "counter", data: [UInt8]("0"))
        let wins = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var won = 0
                    for _ in 0..<20 {
                        let current = try log.latest(of: "counter")!
                        let value = Int(String(decoding: current.data, as: UTF8.self))! + 1
                        do {
                            _ = try await log.append([AppendEntry(event: "counter", data: [UInt8]("\(value)"), expectedSeq: current.seq)])
                            won += 1
                        } catch LogError.seqConflict {}
                    }
                    return won
                }
            }
            return try await group.reduce(0, +)
        }
        let history = try log.history(of: "counter")!
        #expect(history.count == wins + 1)
        #expect(history.map { Int(String(decoding: $0.data, as: UTF8.self))! } == Array(0...wins))
        #expect(wins > 0)
        await log.close()
    }
}
