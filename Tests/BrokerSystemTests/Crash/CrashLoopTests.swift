import BrokerLog
import BrokerStore
import BrokerTestSupport
import Foundation
import Glibc
import Testing

/// Kills a writer with SIGKILL at random moments and checks, after each kill, that
/// every acknowledged record is in the log, intact, with seqs unique and gapless, and
/// that appending goes on; that every batch in the log is whole and every
/// acknowledged batch's idempotency key is known (a retry appends nothing); and
/// that the read-modify-write counter lost no acknowledged update. `BROKER_CRASH_KILLS` sets the number of kills (default 50;
/// `make stress` runs 1,000).
@Suite(.timeLimit(.minutes(20))) struct CrashLoopTests {
    static var writerPath: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("broker-crash-writer").path
    }

    struct Ack: Hashable {
        let seq: UInt64
        let writer: Int
        let n: Int
    }

    /// What one run of the writer acknowledged.
    struct Acks {
        var records: [Ack] = []
        /// Keyed batches: first seq, count, writer, n.
        var batches: [(seq: UInt64, count: Int, writer: Int, n: Int)] = []
        /// Counter updates: seq and value.
        var counter: [(seq: UInt64, value: Int)] = []
    }

    @Test func everyAcknowledgedRecordSurvivesSIGKILL() async throws {
        let kills = Int(ProcessInfo.processInfo.environment["BROKER_CRASH_KILLS"] ?? "") ?? 50
        let directory = NSTemporaryDirectory() + "broker-crash-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #require(FileManager.default.isExecutableFile(atPath: Self.writerPath), "missing \(Self.writerPath)")
        var generator = SystemRandomNumberGenerator()
        var acknowledged: [Ack] = []
        var batchesChecked = 0
        var lastSeq: UInt64 = 0
        for round in 0..<kills {
            let (run, startSeq) = try await Self.runAndKill(directory, afterMicroseconds: Int.random(in: 0...40_000, using: &generator))
            let acks = run.records
            #expect(startSeq == lastSeq, "round \(round): the writer reopened at \(startSeq), expected \(lastSeq)")
            acknowledged += acks
            // Reopen as the next writer would: every acknowledged record is there.
            var options = LogOptions(durability: .never)
            options.logger.logLevel = .critical
            let log = try EventLog.open(directory: directory, options: options)
            // This round's records (earlier rounds were checked already; the end checks all).
            let first = lastSeq + 1
            let records = try Self.readAll(log, from: first)
            #expect(records.map(\.seq) == Array(first..<(first + UInt64(records.count))), "round \(round): seqs are not gapless")
            for ack in acks {
                guard ack.seq >= first, ack.seq < first + UInt64(records.count) else {
                    Issue.record("round \(round): acknowledged seq \(ack.seq) is missing (log ends at \(log.lastSeq))")
                    continue
                }
                let record = records[Int(ack.seq - first)]
                let text = String(decoding: record.data, as: UTF8.self)
                #expect(
                    record.event == "w\(ack.writer)" && text.hasPrefix(#"{"w":\#(ack.writer),"n":\#(ack.n),"#),
                    "round \(round): seq \(ack.seq) holds \(record.event) \(text.prefix(30))")
            }
            Self.checkBatchesAreWhole(records, round: round)
            for (seq, value) in run.counter {
                let stored = seq >= first && seq < first + UInt64(records.count) ? records[Int(seq - first)] : nil
                #expect(
                    stored?.event == "counter" && stored.map { String(decoding: $0.data, as: UTF8.self) } == "\(value)",
                    "round \(round): counter at \(seq)")
            }
            // A client retrying an acknowledged batch with its key appends nothing.
            for batch in run.batches {
                let (entries, key) = Self.keyedBatch(writer: batch.writer, n: batch.n)
                let result = try await log.append(entries, idempotencyKey: key)
                #expect(
                    result.replayed && result.records.first?.seq == batch.seq && result.records.count == batch.count,
                    "round \(round): key w\(batch.writer)-\(batch.n)")
                batchesChecked += 1
            }
            #expect(log.lastSeq == first - 1 + UInt64(records.count), "round \(round): a retry appended")
            lastSeq = log.lastSeq
            await log.close()
        }
        #expect(batchesChecked >= kills / 2, "too few keyed batches were acknowledged to mean anything")
        #expect(Set(acknowledged.map(\.seq)).count == acknowledged.count, "a seq was acknowledged twice")
        #expect(acknowledged.count >= kills, "too few appends were acknowledged to mean anything")
        // The log is sound from end to end.
        var options = LogOptions(durability: .never)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        let all = try Self.readAll(log)
        #expect(all.map(\.seq) == Array(0..<UInt64(all.count)).map { $0 + 1 })
        #expect(all.count == Int(log.lastSeq))
        // No acknowledged update of the counter was lost: each value is the one before plus one.
        let counter = try log.history(of: "counter") ?? []
        #expect(counter.map { Int(String(decoding: $0.data, as: UTF8.self)) } == Array(0..<counter.count))
        await log.close()
    }

    /// The crash writer's batch `n` of `writer` (Tests/CrashWriter), rebuilt.
    static func keyedBatch(writer: Int, n: Int) -> ([AppendEntry], IdempotencyKey) {
        let count = 1 + n % 7
        let entries = (0..<count).map { index in
            AppendEntry(
                event: "w\(writer)",
                data: Array(#"{"w":\#(writer),"n":\#(n),"i":\#(index),"c":\#(count),"pad":"\#(String(repeating: "p", count: 50 + (n % 200)))"}"#.utf8)
            )
        }
        return (entries, IdempotencyKey("w\(writer)-\(n)", requestDigest: UInt64(writer) << 32 | UInt64(n))!)
    }

    /// Every batch record (`"i"` and `"c"` in its data) stands with the rest of its
    /// batch, in order: no crash left part of one.
    static func checkBatchesAreWhole(_ records: [Record], round: Int) {
        var index = 0
        while index < records.count {
            guard let (_, i, c) = batchFields(records[index]) else {
                index += 1
                continue
            }
            #expect(i == 0, "round \(round): seq \(records[index].seq) starts inside a batch")
            for offset in 0..<c {
                let fields = index + offset < records.count ? batchFields(records[index + offset]) : nil
                #expect(fields?.1 == offset && fields?.2 == c, "round \(round): batch at seq \(records[index].seq) is not whole")
            }
            index += max(1, c)
        }
    }

    private static func batchFields(_ record: Record) -> (Int, Int, Int)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(record.data)) as? [String: Any],
            let n = object["n"] as? Int, let i = object["i"] as? Int, let c = object["c"] as? Int
        else { return nil }
        return (n, i, c)
    }

    /// Starts the writer, waits until it is appending, lets it run a random while and
    /// SIGKILLs it; returns the acknowledgements it printed and the seq it opened at.
    /// On a Dispatch thread: it blocks on the pipe and the child for up to seconds.
    static func runAndKill(_ directory: String, afterMicroseconds delay: Int) async throws -> (Acks, UInt64) {
        try await onDispatchThread { try runAndKillBlocking(directory, afterMicroseconds: delay) }
    }

    private static func runAndKillBlocking(_ directory: String, afterMicroseconds delay: Int) throws -> (Acks, UInt64) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: writerPath)
        process.arguments = [directory, "4"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = pipe.fileHandleForReading
        var text = ""
        // Wait (at most 10 s) for the first acknowledgement, then kill after `delay`.
        let deadline = ContinuousClock.now + .seconds(10)
        while !text.contains("ack "), ContinuousClock.now < deadline, process.isRunning {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        usleep(useconds_t(delay))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        text += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        var acks = Acks()
        var startSeq: UInt64 = .max
        // The last line may be cut by the kill: only whole lines count.
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let fields = line.split(separator: " ")
            if fields.first == "ready", fields.count == 2 { startSeq = UInt64(fields[1]) ?? .max }
            if fields.first == "ack", fields.count == 4, let seq = UInt64(fields[1]), let writer = Int(fields[2]), let n = Int(fields[3]) {
                acks.records.append(Ack(seq: seq, writer: writer, n: n))
            }
            if fields.first == "batch", fields.count == 5, let seq = UInt64(fields[1]), let count = Int(fields[2]), let writer = Int(fields[3]),
                let n = Int(fields[4])
            {
                acks.batches.append((seq, count, writer, n))
            }
            if fields.first == "counter", fields.count == 3, let seq = UInt64(fields[1]), let value = Int(fields[2]) {
                acks.counter.append((seq, value))
            }
        }
        return (acks, startSeq)
    }

    static func readAll(_ log: EventLog, from seq: UInt64 = 1) throws -> [Record] {
        let cursor = log.read(from: seq)
        var records: [Record] = []
        while let record = try cursor.next() { records.append(record) }
        return records
    }
}
