import BrokerLog
import BrokerTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Kills a writer with SIGKILL at random moments and checks, after each kill, that
/// every acknowledged record is in the log, intact, with seqs unique and gapless, and
/// that appending goes on. `BROKER_CRASH_KILLS` sets the number of kills (default 50;
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

    @Test func everyAcknowledgedRecordSurvivesSIGKILL() async throws {
        let kills = Int(ProcessInfo.processInfo.environment["BROKER_CRASH_KILLS"] ?? "") ?? 50
        let directory = NSTemporaryDirectory() + "broker-crash-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #require(FileManager.default.isExecutableFile(atPath: Self.writerPath), "missing \(Self.writerPath)")
        var generator = SystemRandomNumberGenerator()
        var acknowledged: [Ack] = []
        var lastSeq: UInt64 = 0
        for round in 0..<kills {
            let (acks, startSeq) = try await Self.runAndKill(directory, afterMicroseconds: Int.random(in: 0...40_000, using: &generator))
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
            lastSeq = log.lastSeq
            await log.close()
        }
        #expect(Set(acknowledged.map(\.seq)).count == acknowledged.count, "a seq was acknowledged twice")
        #expect(acknowledged.count >= kills, "too few appends were acknowledged to mean anything")
        // The log is sound from end to end.
        var options = LogOptions(durability: .never)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        let all = try Self.readAll(log)
        #expect(all.map(\.seq) == Array(0..<UInt64(all.count)).map { $0 + 1 })
        #expect(all.count == Int(log.lastSeq))
        await log.close()
    }

    /// Starts the writer, waits until it is appending, lets it run a random while and
    /// SIGKILLs it; returns the acknowledgements it printed and the seq it opened at.
    /// On a Dispatch thread: it blocks on the pipe and the child for up to seconds.
    static func runAndKill(_ directory: String, afterMicroseconds delay: Int) async throws -> ([Ack], UInt64) {
        try await onDispatchThread { try runAndKillBlocking(directory, afterMicroseconds: delay) }
    }

    private static func runAndKillBlocking(_ directory: String, afterMicroseconds delay: Int) throws -> ([Ack], UInt64) {
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
        var acks: [Ack] = []
        var startSeq: UInt64 = .max
        // The last line may be cut by the kill: only whole lines count.
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let fields = line.split(separator: " ")
            if fields.first == "ready", fields.count == 2 { startSeq = UInt64(fields[1]) ?? .max }
            if fields.first == "ack", fields.count == 4, let seq = UInt64(fields[1]), let writer = Int(fields[2]), let n = Int(fields[3]) {
                acks.append(Ack(seq: seq, writer: writer, n: n))
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
