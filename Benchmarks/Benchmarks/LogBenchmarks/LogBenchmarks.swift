// The engine's speed goals (docs/performance.md). Sizes are small by default
// (`make bench`, a few minutes) and the issue's sizes with BROKER_BENCH_FULL=1
// (`make bench-full`).
import Benchmark
import BrokerLog
import BrokerStore
import Foundation
import Synchronization

let full = ProcessInfo.processInfo.environment["BROKER_BENCH_FULL"] == "1"

/// A scratch data directory per benchmark run.
func scratchDirectory(_ label: String) -> String {
    let base = ProcessInfo.processInfo.environment["BROKER_BENCH_DIR"] ?? NSTemporaryDirectory()
    return base + "/broker-bench-\(label)-\(UUID().uuidString)"
}

func quietOptions(compression: Bool, durability: Durability, segmentBytes: Int = LogOptions.defaultSegmentBytes) -> LogOptions {
    var options = LogOptions(compression: compression, durability: durability, segmentBytes: segmentBytes)
    options.logger.logLevel = .critical
    return options
}

/// 200 bytes of JSON for record `n`: a realistic mix of text and numbers.
func json200(_ n: Int) -> [UInt8] {
    var text = #"{"id":\#(n),"user":"user-\#(n % 977)","action":"update","amount":\#(n % 10_000).25,"tags":["a","b","c"],"note":""#
    text += String(repeating: "x", count: max(0, 200 - text.utf8.count - 2)) + #""}"#
    return Array(text.utf8)
}

let names = (0..<1000).map { "event-\($0)" }
let payloads = (0..<1000).map(json200)

/// Appends `count` 200-byte records over 1,000 names, in batches of 1,000.
func appendRecords(_ log: EventLog, count: Int) async throws {
    var appended = 0
    while appended < count {
        let batch = (0..<min(1000, count - appended)).map { AppendEntry(event: names[$0], data: payloads[($0 + appended) % 1000]) }
        _ = try await log.append(batch)
        appended += batch.count
    }
}

/// Percentile of sorted durations in microseconds.
func percentile(_ sorted: [Duration], _ p: Double) -> Int {
    guard !sorted.isEmpty else { return 0 }
    let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    return Int(value.components.seconds * 1_000_000 + value.components.attoseconds / 1_000_000_000_000)
}

let benchmarks: @Sendable () -> Void = {
    let quick = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .mega, maxDuration: .seconds(10), maxIterations: full ? 10 : 5)

    // 1. Append throughput, 200-byte data, 1,000 names, one writer, fsync never.
    for compression in [false, true] {
        Benchmark("append 200B never \(compression ? "lz4" : "none") (1M records)", configuration: quick) { benchmark in
            let directory = scratchDirectory("append")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let log = try EventLog.open(directory: directory, options: quietOptions(compression: compression, durability: .never))
            benchmark.startMeasurement()
            try await appendRecords(log, count: benchmark.scaledIterations.count)
            benchmark.stopMeasurement()
            await log.close()
        }
    }

    // 2. Large records: 64 KiB each (text that compresses about 3:1, like JSON logs).
    let large: [UInt8] = {
        var bytes: [UInt8] = []
        var n = 0
        while bytes.count < 65536 {
            bytes += Array(#"{"n":\#(n),"v":"value \#(n % 97)"},"#.utf8)
            n += 1
        }
        return Array(bytes.prefix(65536))
    }()
    for compression in [false, true] {
        Benchmark(
            "append 64KiB never \(compression ? "lz4" : "none") (1 GiB)",
            configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(20), maxIterations: 3)
        ) { benchmark in
            let directory = scratchDirectory("large")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let log = try EventLog.open(directory: directory, options: quietOptions(compression: compression, durability: .never))
            let count = benchmark.scaledIterations.count * 16  // 16k records of 64 KiB: 1 GiB
            benchmark.startMeasurement()
            var written = 0
            while written < count {
                _ = try await log.append((0..<16).map { AppendEntry(event: names[$0 + written % 100], data: large) })
                written += 16
            }
            benchmark.stopMeasurement()
            await log.close()
        }
    }

    // 3. Durable appends with 1, 8 and 64 concurrent writers: group commit.
    for writers in [1, 8, 64] {
        Benchmark(
            "append durable always \(writers) writers",
            configuration: .init(
                metrics: [.wallClock, .custom("records/s"), .custom("fsyncs/s"), .custom("p50 us"), .custom("p99 us")],
                scalingFactor: .one, maxDuration: .seconds(20), maxIterations: 3)
        ) { benchmark in
            let directory = scratchDirectory("durable")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let log = try EventLog.open(directory: directory, options: quietOptions(compression: true, durability: .always))
            let perWriter = max(1, (full ? 4000 : 1000) / writers) * (writers == 1 ? 1 : 4)
            let started = ContinuousClock.now
            benchmark.startMeasurement()
            let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for w in 0..<writers {
                    group.addTask {
                        var mine: [Duration] = []
                        for i in 0..<perWriter {
                            let start = ContinuousClock.now
                            _ = try await log.append(event: names[w], data: payloads[i % 1000])
                            mine.append(ContinuousClock.now - start)
                        }
                        return mine
                    }
                }
                var all: [Duration] = []
                for try await mine in group { all += mine }
                return all.sorted()
            }
            benchmark.stopMeasurement()
            let seconds =
                Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
            let records = writers * perWriter
            benchmark.measurement(.custom("fsyncs/s"), Int(Double(log.statistics.fsyncs) / seconds))
            benchmark.measurement(.custom("p50 us"), percentile(latencies, 0.50))
            benchmark.measurement(.custom("p99 us"), percentile(latencies, 0.99))
            benchmark.measurement(.custom("records/s"), Int(Double(records) / seconds))
            await log.close()
        }
    }

    // 4. Opening a large log: a full rebuild of the latest index (no checkpoint), and
    // the ordinary open after a clean close (from the checkpoint).
    for useCheckpoint in [false, true] {
        Benchmark(
            "open \(full ? "1 GB" : "256 MB") log, \(useCheckpoint ? "ordinary (checkpoint)" : "full rebuild")",
            configuration: .init(metrics: [.wallClock, .custom("MB/s scanned")], scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 5)
        ) { benchmark in
            let (directory, bytes) = try await Fixture.largeLog(megabytes: full ? 1024 : 256)
            var options = quietOptions(compression: true, durability: .never)
            options.useCheckpoint = useCheckpoint
            options.scrubAfterOpen = false
            benchmark.startMeasurement()
            let started = ContinuousClock.now
            let log = try EventLog.open(directory: directory, options: options)
            let elapsed = ContinuousClock.now - started
            benchmark.stopMeasurement()
            precondition((log.openReport.checkpointSeq != nil) == useCheckpoint, "\(log.openReport)")
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(.custom("MB/s scanned"), Int(Double(useCheckpoint ? log.openReport.scannedBytes : bytes) / 1e6 / seconds))
            await log.close()
        }
    }

    // 5. History of one event with 100 records inside a large log.
    Benchmark(
        "history of 100 records in \(full ? "10M" : "1M")-record log",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 1000)
    ) { benchmark in
        let log = try await Fixture.needleLog(records: full ? 10_000_000 : 1_000_000)
        benchmark.startMeasurement()
        let history = try log.history(of: "needle")
        benchmark.stopMeasurement()
        precondition(history?.count == 100)
    }

    // 6. Memory of the latest index: bytes a name beyond the name itself.
    Benchmark(
        "latest index with \(full ? "1M" : "200k") names",
        configuration: .init(
            metrics: [.wallClock, .custom("bytes/name"), .custom("RSS bytes/name"), .custom("close ms"), .custom("reopen ms")], scalingFactor: .one,
            maxDuration: .seconds(60), maxIterations: 1)
    ) { benchmark in
        let count = full ? 1_000_000 : 200_000
        let directory = scratchDirectory("names")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try EventLog.open(directory: directory, options: quietOptions(compression: false, durability: .never))
        let before = residentBytes()
        var nameBytes = 0
        for start in stride(from: 0, to: count, by: 1000) {
            let batch = (start..<min(count, start + 1000)).map { AppendEntry(event: "name-\($0)", data: Array("1".utf8)) }
            nameBytes += batch.reduce(0) { $0 + $1.event.utf8.count }
            _ = try await log.append(batch)
        }
        let after = residentBytes()
        // What the index holds beyond the names, and the process's growth (which also
        // counts memory freed while the table doubled).
        benchmark.measurement(.custom("bytes/name"), (log.statistics.indexBytes - nameBytes) / count)
        benchmark.measurement(.custom("RSS bytes/name"), (after - before - nameBytes) / count)
        // Closing writes the checkpoint of every name (SIGTERM must exit within 2 s),
        // and the next open reads it back.
        let closing = ContinuousClock.now
        await log.close()
        benchmark.measurement(.custom("close ms"), milliseconds(since: closing))
        let opening = ContinuousClock.now
        let reopened = try EventLog.open(directory: directory, options: quietOptions(compression: false, durability: .never))
        benchmark.measurement(.custom("reopen ms"), milliseconds(since: opening))
        precondition(reopened.openReport.checkpointSeq != nil && reopened.statistics.eventNames == count)
        await reopened.close()
    }
}

/// The resident set of this process in bytes.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// Large logs built once per run and shared by the iterations that read them.
enum Fixture {
    static let built = Mutex<[String: String]>([:])

    static func largeLog(megabytes: Int) async throws -> (String, Int) {
        let key = "large-\(megabytes)"
        if let directory = built.withLock({ $0[key] }) { return (directory, megabytes << 20) }
        let directory = scratchDirectory(key)
        let log = try EventLog.open(directory: directory, options: quietOptions(compression: true, durability: .never))
        var bytes = 0
        while bytes < megabytes << 20 {
            try await appendRecords(log, count: 100_000)
            bytes = Int(log.statistics.bytesAppended)
        }
        await log.close()
        built.withLock { $0[key] = directory }
        return (directory, bytes)
    }

    static let needle = Mutex<EventLog?>(nil)

    static func needleLog(records: Int) async throws -> EventLog {
        if let log = needle.withLock({ $0 }) { return log }
        let directory = scratchDirectory("needle")
        let log = try EventLog.open(directory: directory, options: quietOptions(compression: true, durability: .never))
        let every = records / 100
        var written = 0
        while written < records {
            let batch = (0..<min(1000, records - written)).map { i -> AppendEntry in
                let n = written + i
                return AppendEntry(event: n % every == every / 2 ? "needle" : names[n % 1000], data: payloads[n % 1000])
            }
            _ = try await log.append(batch)
            written += batch.count
        }
        needle.withLock { $0 = log }
        return log
    }
}

/// Whole milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Int {
    let elapsed = (ContinuousClock.now - start).components
    return Int(elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000)
}
