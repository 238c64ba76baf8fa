import Foundation
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(2))) struct DurabilityTests {
    @Test func concurrentAppendsGetUniqueGaplessSeqsAndShareFsyncs() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        let writers = 64
        let perWriter = 20
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var mine: [UInt64] = []
                    for i in 0..<perWriter {
                        mine.append(try await log.append(event: "w\(w)", data: [UInt8]("\(i)")).seq)
                    }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await mine in group {
                #expect(mine == mine.sorted())
                all += mine
            }
            return all
        }
        #expect(seqs.sorted() == Array(1...UInt64(writers * perWriter)))
        let stats = log.statistics
        #expect(stats.appends == UInt64(writers * perWriter))
        // Group commit: far fewer fsyncs than appends.
        #expect(stats.fsyncs < UInt64(writers * perWriter) / 2, "\(stats.fsyncs) fsyncs")
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test())
        #expect(try allRecords(reopened).count == writers * perWriter)
        await reopened.close()
    }

    @Test(arguments: [Durability.always, .interval(milliseconds: 5), .never])
    func everyPolicyAcknowledgesAndPersists(durability: Durability) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: durability, segmentBytes: 4096))
        for i in 0..<50 { _ = try await log.append(event: "p", data: [UInt8](String(repeating: "\(i % 10)", count: 100))) }
        #expect(log.lastSeq == 50)
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test())
        #expect(reopened.lastSeq == 50)
        await reopened.close()
    }

    @Test func subscribersGetEveryRecordInOrderAfterTheirStart() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        _ = try await log.append(event: "before", data: [])
        let subscription = log.subscribe()
        #expect(subscription.startSeq == 1)
        let total = 200
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<8 {
                    group.addTask { for _ in 0..<(total / 8) { _ = try await log.append(event: "w\(w)", data: []) } }
                }
                try await group.waitForAll()
            }
        }
        var received: [UInt64] = []
        for await record in subscription.records {
            received.append(record.seq)
            if received.count == total { break }
        }
        try await writers.value
        #expect(received == Array(2...UInt64(total + 1)))
        await log.close()
    }

    @Test func aSubscriptionStartingMidStreamHandsOverWithoutGapOrDuplicate() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .never))
        let writer = Task { for i in 0..<2000 { _ = try await log.append(event: "r\(i % 7)", data: []) } }
        try await Task.sleep(for: .milliseconds(2))
        let subscription = log.subscribe()
        var seqs = try allRecords(log).filter { $0.seq <= subscription.startSeq }.map(\.seq)
        try await writer.value
        // The writer may have finished before the subscription started.
        if subscription.startSeq < 2000 {
            for await record in subscription.records {
                seqs.append(record.seq)
                if record.seq == 2000 { break }
            }
        }
        #expect(seqs == Array(1...2000))
        await log.close()
    }

    @Test func closeEndsSubscriptions() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        let subscription = log.subscribe()
        let consumer = Task {
            var n = 0
            for await _ in subscription.records { n += 1 }
            return n
        }
        _ = try await log.append(event: "x", data: [])
        await log.close()
        #expect(await consumer.value == 1)
    }
}

extension Durability: CustomTestStringConvertible {
    public var testDescription: String { description }
}
