import BrokerJSON
import BrokerLog
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// What the fuzz targets check for each input, shared with the tests that replay the
/// saved corpus (`Fixtures/fuzz/`), so a crash the fuzzer found stays fixed.
public enum FuzzChecks {
    /// Reads `bytes` as a segment file through the same readers the log and the tools
    /// use, decoding every frame it accepts. Any input may be rejected; none may crash,
    /// hang, or make a reader allocate more than the file holds.
    public static func segment(_ bytes: UnsafeRawBufferPointer, scratchPath: String) {
        guard writeFile(scratchPath, bytes) else { return }
        guard let segment = try? SegmentReader(path: scratchPath) else { return }
        let frames = segment.frames()
        var steps = 0
        // Each step consumes at least one frame prefix, so this ends; the bound is a backstop.
        while steps <= bytes.count, let item = try? frames.next() {
            steps += 1
            switch item {
            case let .frame(frame, _):
                precondition(frame.frameSize <= bytes.count, "a frame larger than the file")
                if let data = try? frame.data() { precondition(data.count == frame.dataLength) }
                _ = frame.event
            case .damage:
                guard (try? frames.skipDamage()) == true else { return }
            }
        }
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
                    _ = try await log.append(event: "name\(n % 7)", data: Array(#"{"n":\#(n),"pad":"\#(String(repeating: "p", count: Int(n % 50)))"}"#.utf8))
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

    /// Writes `parts` one after another as the file at `path`; false when it cannot.
    private static func writeFile(_ path: String, _ parts: UnsafeRawBufferPointer...) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        for part in parts { _ = write(fd, part.baseAddress, part.count) }
        close(fd)
        return true
    }
}
