import BrokerStore
import Foundation

@testable import BrokerLog

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDirectory {
    let path: String

    init(_ label: String = "broker-test") {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// An existing directory (not removed by the tests that use it this way).
    init(path: String) { self.path = path }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// The segment files, sorted.
    func segments() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    func bytes(of name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path + "/" + name)!) }

    func write(_ bytes: [UInt8], to name: String) {
        FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes))
    }

    /// Every segment file's size and CRC, for checking that nothing changed (the empty
    /// LOCK file an open creates is not data).
    func contents() -> [String: String] {
        var all: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name != "LOCK" {
            let bytes = bytes(of: name)
            all[name] = "\(bytes.count) bytes, crc \(CRC32C.checksum(bytes))"
        }
        return all
    }
}

/// A clock that ticks one millisecond per reading from a fixed start.
final class TestClock: Sendable {
    private let now = Locked<Int64>(1_700_000_000_000)
    var read: @Sendable () -> Int64 {
        {
            self.now.withLock {
                $0 += 1
                return $0
            }
        }
    }
}

extension LogOptions {
    static func test(compression: Bool = false, durability: Durability = .never, segmentBytes: Int = 1 << 20, clock: TestClock? = nil) -> LogOptions {
        var options = LogOptions(compression: compression, durability: durability, segmentBytes: segmentBytes)
        options.logger.logLevel = .critical
        // Tests that damage files run the scrub themselves, when they choose.
        options.scrubAfterOpen = false
        if let clock { options.clock = clock.read }
        return options
    }
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}

extension Record {
    var text: String { String(decoding: data, as: UTF8.self) }
}

/// Reads every record of a log through a cursor.
func allRecords(_ log: EventLog, from seq: UInt64 = 1) throws -> [Record] {
    let cursor = log.read(from: seq)
    var records: [Record] = []
    while let record = try cursor.next() { records.append(record) }
    return records
}

/// One frame of a segment file, as the walker read it.
struct FrameInfo {
    var seq: UInt64
    var offset: Int
    var size: Int
    var codec: Codec
}

/// The frames of one segment file, read with the log's walker; damage fails.
func frames(in path: String) throws -> [FrameInfo] {
    let walker = LogWalker([.init(try SegmentReader(path: path))], policy: FailOnDamage())
    var found: [FrameInfo] = []
    while let item = try walker.next() {
        if case .frame(let frame, let offset, _) = item {
            found.append(FrameInfo(seq: frame.seq, offset: offset, size: frame.frameSize, codec: frame.codec))
        }
    }
    return found
}
