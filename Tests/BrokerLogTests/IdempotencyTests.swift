import BrokerStore
import Foundation
import Testing

@testable import BrokerLog

/// Idempotency keys (SPEC.md 3.6): a repeat within the window appends nothing and
/// gets the first records; another request with the key is refused; keys survive a
/// reopen (from the checkpoint or the frames); the table is bounded.
@Suite(.timeLimit(.minutes(2))) struct IdempotencyTests {
    static func key(_ text: String, _ digest: UInt64 = 7) -> IdempotencyKey { IdempotencyKey(text, requestDigest: digest)! }
    static let entries = [AppendEntry(event: "a", data: [UInt8]("1")), AppendEntry(event: "b", data: [UInt8]("2"))]

    @Test func aRepeatAppendsNothingAndGetsTheFirstRecords() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        let first = try await log.append(Self.entries, idempotencyKey: Self.key("order-1"))
        #expect(!first.replayed && first.records.map(\.seq) == [1, 2])
        let again = try await log.append(Self.entries, idempotencyKey: Self.key("order-1"))
        #expect(again.replayed && again.records == first.records)
        #expect(log.lastSeq == 2)
        await #expect(throws: LogError.idempotencyKeyReused(key: "order-1", firstSeq: 1)) {
            _ = try await log.append(Self.entries, idempotencyKey: Self.key("order-1", 8))
        }
        // Without a key, or with another, it is a new batch.
        #expect(try await log.append(Self.entries, idempotencyKey: Self.key("order-2")).records.map(\.seq) == [3, 4])
        #expect(try await log.append(Self.entries).map(\.seq) == [5, 6])
        await log.close()
    }

    @Test(arguments: [true, false])
    func keysSurviveAReopen(withCheckpoint: Bool) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        var firsts: [String: [Record]] = [:]
        for n in 0..<60 {
            let entries = [AppendEntry(event: "k\(n)", data: [UInt8](repeating: UInt8(ascii: "x"), count: 150))]
            firsts["key-\(n)"] = try await log.append(entries, idempotencyKey: Self.key("key-\(n)")).records
        }
        #expect(dir.segments().count > 2)
        await log.close()
        if !withCheckpoint { try FileManager.default.removeItem(atPath: dir.path + "/CHECKPOINT") }
        let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect((reopened.openReport.checkpointSeq != nil) == withCheckpoint)
        for n in 0..<60 {
            let entries = [AppendEntry(event: "k\(n)", data: [UInt8](repeating: UInt8(ascii: "x"), count: 150))]
            let result = try await reopened.append(entries, idempotencyKey: Self.key("key-\(n)"))
            #expect(result.replayed && result.records == firsts["key-\(n)"], "key-\(n)")
        }
        #expect(reopened.lastSeq == 60)
        await reopened.close()
    }

    @Test func keysExpireAfterTheWindowAndAFullTableRefusesNewOnes() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let now = Locked<Int64>(1_000_000)
        var options = LogOptions.test()
        options.clock = { now.withLock { $0 } }
        options.idempotencyWindowMs = 10_000
        options.idempotencyMaxKeys = 3
        let log = try EventLog.open(directory: dir.path, options: options)
        for n in 0..<3 { _ = try await log.append(Self.entries, idempotencyKey: Self.key("k\(n)")) }
        await #expect(throws: LogError.idempotencyKeysFull(capacity: 3, retryAfterMs: 10_000)) {
            _ = try await log.append(Self.entries, idempotencyKey: Self.key("k3"))
        }
        // Appends without a key are not held up by the table.
        #expect(try await log.append(Self.entries).count == 2)
        now.withLock { $0 += 10_001 }
        #expect(try await !log.append(Self.entries, idempotencyKey: Self.key("k3")).replayed)
        // The window passed for k0: it is a new batch now.
        #expect(try await !log.append(Self.entries, idempotencyKey: Self.key("k0")).replayed)
        #expect(try await log.append(Self.entries, idempotencyKey: Self.key("k3")).replayed)
        await log.close()
        // After a reopen, only the keys of the window are known.
        now.withLock { $0 += 10_001 }
        let reopened = try EventLog.open(directory: dir.path, options: options)
        #expect(try await !reopened.append(Self.entries, idempotencyKey: Self.key("k3")).replayed)
        await reopened.close()
    }

    /// A keyed append whose write fails (a full disk) acknowledged nothing, so its key
    /// is not kept: the retry appends.
    @Test func aFailedWriteDoesNotKeepTheKey() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let faults = SwitchableFaults()
        var options = LogOptions.test()
        options.faults = faults
        let log = try EventLog.open(directory: dir.path, options: options)
        faults.failWrites(afterWriting: 10)
        await #expect(throws: LogError.self) { _ = try await log.append(Self.entries, idempotencyKey: Self.key("retry")) }
        faults.heal()
        let retried = try await log.append(Self.entries, idempotencyKey: Self.key("retry"))
        #expect(!retried.replayed && retried.records.map(\.seq) == [1, 2])
        #expect(try await log.append(Self.entries, idempotencyKey: Self.key("retry")).replayed)
        await log.close()
    }

    @Test func concurrentAppendsWithOneKeyAppendOnce() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<32 { group.addTask { try await log.append(Self.entries, idempotencyKey: Self.key("same")) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { !$0.replayed }.count == 1)
        #expect(Set(results.map { $0.records.map(\.seq) }) == [[1, 2]])
        #expect(log.lastSeq == 2)
        await log.close()
    }

    @Test func theTableCostsAtMost64BytesAKey() {
        var table = IdempotencyTable(windowMs: .max, capacity: 1 << 18)
        for n in 0..<(1 << 18) { table.insert(Self.key("key-\(n)"), firstSeq: UInt64(n + 1), count: 1, timestamp: 0) }
        #expect(table.count == 1 << 18)
        #expect(table.memoryBytes <= 64 * table.count)
        for n in stride(from: 0, to: 1 << 18, by: 4099) {
            #expect(table.lookup(Self.key("key-\(n)")) == .replay(firstSeq: UInt64(n + 1), count: 1))
        }
        #expect(table.lookup(Self.key("other")) == .absent)
        // Full: the oldest makes room, and every other key is still found.
        table.insert(Self.key("one-more"), firstSeq: UInt64(1 << 18) + 1, count: 1, timestamp: 0)
        #expect(table.lookup(Self.key("key-0")) == .absent)
        #expect(table.lookup(Self.key("key-1")) == .replay(firstSeq: 2, count: 1))
        #expect(table.lookup(Self.key("one-more")) != .absent)
    }

    @Test func removingTheOldestKeepsEveryOtherKeyFindable() {
        var table = IdempotencyTable(windowMs: 100, capacity: 10_000)
        for n in 0..<5000 { table.insert(Self.key("k\(n)"), firstSeq: UInt64(n + 1), count: 1, timestamp: Int64(n)) }
        table.expire(now: 5000)
        #expect(table.count == 100)
        for n in 0..<5000 { #expect((table.lookup(Self.key("k\(n)")) != .absent) == (n >= 4900), "k\(n)") }
    }
}
