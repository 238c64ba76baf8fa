import BrokerJSON
import BrokerLog
import Dispatch
import Glibc

/// What the fuzz targets check for each input, shared with the tests that replay the
/// saved corpus (`Fixtures/fuzz/`), so a crash the fuzzer found stays fixed.
public enum FuzzChecks {
    /// Reads `bytes` as a segment every way Broker does: the walker over them in memory
    /// (as the newest segment and as a sealed one, no disk), then, written into an empty
    /// scratch `directory` as its one segment named by the base seq its header field
    /// holds (so seq 0 and seqs past the valid range reach the readers as file names
    /// too), the tools' walk of the directory and a writer's open (recovery) followed by
    /// reads of everything it recovered. Any input may be rejected; none may crash,
    /// hang, or make a reader allocate more than the file holds.
    public static func segment(_ bytes: UnsafeRawBufferPointer, scratchDirectory directory: String) {
        walkInMemory(Array(bytes))
        mkdir(directory, 0o755)
        let baseSeq = bytes.count >= 20 ? bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self).littleEndian : 1
        let segmentPath = directory + "/" + SegmentFileName.name(forBaseSeq: baseSeq)
        defer { removeEntries(of: directory) }
        guard writeFile(segmentPath, bytes) else { return }
        guard let (spans, _) = try? LogWalker<SkipDamage>.Span.forTool(directory) else { return }
        walk(spans, limit: bytes.count)
        recoverAndRead(directory)
    }

    /// The walk of `bytes` as the newest segment and as a sealed one, from memory.
    private static func walkInMemory(_ bytes: [UInt8]) {
        guard let reader = try? SegmentReader(file: MemoryBytes(bytes), path: "memory", expectedBaseSeq: nil) else { return }
        for isNewest in [true, false] { walk([.init(reader, isNewest: isNewest)], limit: bytes.count) }
    }

    /// The tools' walk, going on past all damage as `broker dump` does.
    private static func walk(_ spans: [LogWalker<SkipDamage>.Span], limit: Int) {
        let walker = LogWalker(spans, policy: SkipDamage(), chain: NameChain(firstBaseSeq: 1), checkTimestamps: true)
        var steps = 0
        // Each step consumes at least one frame prefix, so this ends; the bound is a backstop.
        while steps <= limit + 4, let item = try? walker.next() {
            steps += 1
            guard case .frame(let frame, _, _) = item else { continue }
            precondition(frame.frameSize <= limit, "a frame larger than the file")
            if let data = try? frame.data() { precondition(data.count == frame.dataLength) }
            _ = frame.event
        }
    }

    /// A writer's open of the directory, then every read of what it recovered.
    private static func recoverAndRead(_ directory: String) {
        var options = baseOptions
        options.useCheckpoint = false
        guard let log = try? EventLog.open(directory: directory, options: options) else { return }
        let cursor = log.read(from: 1)
        var count: UInt64 = 0
        while count <= log.lastSeq, let record = try? cursor.next() {
            count += 1
            _ = try? log.history(of: record.event, limit: 4)
        }
        _ = try? log.latest()
        // Dropped without close(), so that it writes no checkpoint.
    }

    /// Parses `bytes` as an insert body and as JSON. Compacting compact JSON must give
    /// the same bytes back.
    public static func insertBody(_ bytes: UnsafeRawBufferPointer) {
        _ = try? InsertBody.parse(bytes)
        let array = [UInt8](bytes)
        if let compact = try? JSONCompactor.compact(array) {
            let again = try? JSONCompactor.compact(compact)
            precondition(again == compact, "compacting is not idempotent")
        }
    }

    /// Puts `body` with its CRC-32C after it (so that inputs reach past the CRC check)
    /// as the `CHECKPOINT` of a sound log, built once in `directory` (300 records over
    /// 4 KiB segments, with a fixed clock), and opens it. Whatever the checkpoint
    /// holds, `broker verify`'s audit must not crash, and the open must succeed, reach
    /// the log's last seq and pass its scrub: a checkpoint can only be used or
    /// ignored, never stop or shorten the log.
    public static func checkpoint(_ body: UnsafeRawBufferPointer, directory: String) {
        let lastSeq = baseLog(in: directory)
        let crc = CRC32C.checksum(body).littleEndian
        let written = withUnsafeBytes(of: crc) { writeFile(directory + "/CHECKPOINT", body, $0) }
        guard written else { return }
        _ = try? CheckpointAudit.run(directory: directory)
        let log: EventLog
        do { log = try EventLog.open(directory: directory, options: baseOptions) } catch {
            preconditionFailure("a checkpoint stopped the open of a sound log: \(error)")
        }
        precondition(log.lastSeq == lastSeq, "the open reached seq \(log.lastSeq), not \(lastSeq)")
        do { try log.scrub() } catch { preconditionFailure("the scrub of a sound log failed: \(error)") }
        // Dropped without close(), so that it writes no checkpoint of its own.
    }

    /// The body (all but the CRC) of the base log's own checkpoint: the seed of the
    /// checkpoint corpus.
    public static func checkpointSeed(directory: String) -> [UInt8] {
        _ = baseLog(in: directory)
        let fd = open(directory + "/CHECKPOINT.seed", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        let count = read(fd, &bytes, bytes.count)
        return Array(bytes.prefix(max(0, count - 4)))
    }

    private static var baseOptions: LogOptions {
        var options = LogOptions(compression: false, durability: .never, segmentBytes: 4096)
        options.logger.logLevel = .critical
        options.scrubAfterOpen = false
        options.clock = { 1_700_000_000_000 }
        return options
    }

    /// Builds the base log in `directory` unless it is there, keeping the checkpoint
    /// its close wrote as `CHECKPOINT.seed`; returns its last seq.
    private static func baseLog(in directory: String) -> UInt64 {
        let records: UInt64 = 300
        if access(directory + "/CHECKPOINT.seed", F_OK) == 0 { return records }
        mkdir(directory, 0o755)
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            do {
                let log = try EventLog.open(directory: directory, options: baseOptions)
                for n in 0..<records {
                    _ = try await log.append(
                        event: "name\(n % 7)", data: Array(#"{"n":\#(n),"pad":"\#(String(repeating: "p", count: Int(n % 50)))"}"#.utf8))
                }
                await log.close()
            } catch {
                preconditionFailure("could not build the base log in \(directory): \(error)")
            }
        }
        done.wait()
        // Each input writes a CHECKPOINT of its own.
        rename(directory + "/CHECKPOINT", directory + "/CHECKPOINT.seed")
        return records
    }

    /// Deletes every file in `directory` (the recovery may have made some).
    private static func removeEntries(of directory: String) {
        guard let dir = opendir(directory) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            if name != ".", name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names { unlink(directory + "/" + name) }
    }

    /// Writes `parts` one after another as the file at `path`; false when it cannot.
    private static func writeFile(_ path: String, _ parts: UnsafeRawBufferPointer...) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        for part in parts { _ = write(fd, part.baseAddress, part.count) }
        close(fd)
        return true
    }
}
