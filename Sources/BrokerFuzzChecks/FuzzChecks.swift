import BrokerJSON
import BrokerLog

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
        let fd = open(scratchPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = write(fd, bytes.baseAddress, bytes.count)
        close(fd)
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
}
