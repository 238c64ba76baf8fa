import BrokerStore
import Foundation
import Testing

@testable import BrokerLog

/// Golden segment files in `Fixtures/`: reading them must give the records in their
/// `expected.json`, so an accidental format change fails here. They are rewritten
/// only with BROKER_REGENERATE_FIXTURES=1.
@Suite(.timeLimit(.minutes(1)), .serialized) struct FixtureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/segments").path

    struct Expected: Codable, Equatable {
        struct Entry: Codable, Equatable {
            var seq: UInt64
            var timestamp: Int64
            var event: String
            var data: String
        }
        var records: [Entry]
        /// For damaged fixtures: the segment and byte offset an open must report.
        var openError: String?
    }

    static func entries(_ records: [Record]) -> [Expected.Entry] {
        records.map { .init(seq: $0.seq, timestamp: $0.timestamp, event: $0.event, data: $0.text) }
    }

    static func load(_ name: String) throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + name + "/expected.json"))
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    /// Copies a fixture to a temp dir, so that recovery never changes the committed files.
    static func copy(_ name: String) throws -> TempDirectory {
        let dir = TempDirectory("fixture")
        for file in try FileManager.default.contentsOfDirectory(atPath: root + "/" + name) where file.hasSuffix(".seg") {
            try FileManager.default.copyItem(atPath: root + "/" + name + "/" + file, toPath: dir.path + "/" + file)
        }
        return dir
    }

    @Test(arguments: ["uncompressed", "lz4", "torn-tail", "batches", "torn-batch"])
    func fixtureReadsAsExpected(name: String) async throws {
        let expected = try Self.load(name)
        let dir = try Self.copy(name)
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test())
        #expect(Self.entries(try allRecords(log)) == expected.records)
        await log.close()
    }

    @Test func lz4FixtureHoldsBothCodecs() throws {
        var codecs = Set<UInt8>()
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.root + "/lz4") where file.hasSuffix(".seg") {
            for frame in try frames(in: Self.root + "/lz4/" + file) { codecs.insert(frame.codec.rawValue) }
        }
        #expect(codecs == [0, 1])
    }

    @Test func corruptSealedFixtureFailsTheOpenNamingSegmentAndOffset() async throws {
        let expected = try Self.load("corrupt-sealed")
        let dir = try Self.copy("corrupt-sealed")
        defer { dir.remove() }
        let before = dir.contents()
        let failure = await openFailure(dir)
        let description = try #require(failure).description
        #expect(description.replacingOccurrences(of: dir.path + "/", with: "") == expected.openError)
        #expect(dir.contents() == before)
    }

    @Test func batchFixtureHoldsKeyedBatchesInVersionTwoSegments() throws {
        var keyed = 0
        var continuing = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.root + "/batches") where file.hasSuffix(".seg") {
            #expect(try SegmentReader(path: Self.root + "/batches/" + file).header.version == 2)
            let walker = LogWalker([.init(try SegmentReader(path: Self.root + "/batches/" + file))], policy: FailOnDamage())
            while let item = try walker.next() {
                guard case .frame(let frame, _, _) = item else { continue }
                if frame.isKeyed { keyed += 1 }
                if frame.continuesBatch { continuing += 1 }
            }
        }
        #expect(keyed > 0 && continuing > 0)
    }

    /// The version-1 fixtures (uncompressed, lz4, torn-tail, corrupt-sealed) were
    /// written by the version-1 writer and are kept as they are: the writer no longer
    /// makes version 1, and readers must go on reading them. Only the version-2
    /// fixtures are rewritten.
    @Test func regenerate() async throws {
        guard ProcessInfo.processInfo.environment["BROKER_REGENERATE_FIXTURES"] == "1" else { return }
        try await Self.write("batches", compression: false, batched: true) { _ in }
        try await Self.write("torn-batch", compression: true, batched: true) { dir in
            // Cut the newest segment inside its last batch: the open keeps what precedes that batch.
            let newest = dir.segments().last!
            let frames = try frames(in: dir.path + "/" + newest)
            let bytes = dir.bytes(of: newest)
            dir.write(Array(bytes[0..<(frames[frames.count - 2].offset + 5)]), to: newest)
        }
    }

    /// Writes a small log with fixed times into Fixtures/segments/NAME, damages it with
    /// `damage`, and records what reading it gives.
    static func write(_ name: String, compression: Bool, batched: Bool = false, damage: (TempDirectory) throws -> Void) async throws {
        let target = root + "/" + name
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let dir = TempDirectory(path: target)
        let log = try EventLog.open(directory: target, options: .test(compression: compression, segmentBytes: 4096, clock: TestClock()))
        let samples = [
            #"{"temp":21.5,"unit":"C"}"#, #"[1,2,3]"#, #""hello\nworld""#, "null", "12345678901234567890.5e-3",
            #"{"text":"\#(String(repeating: "broker ", count: 60))"}"#, #"{"nested":{"deep":[true,false,{"x":"é😀"}]}}"#,
        ]
        var i = 0
        while i < 40 {
            // Batched: batches of 1 to 4 records, every other one with a key.
            let count = batched ? min(1 + i % 4, 40 - i) : 1
            let entries = (i..<(i + count)).map {
                AppendEntry(event: ["sensor/1", "user.login", "cart"][$0 % 3], data: [UInt8](samples[$0 % samples.count]))
            }
            let key = batched && i % 2 == 0 ? IdempotencyKey("fixture-\(i)", requestDigest: UInt64(i)) : nil
            _ = try await log.append(entries, idempotencyKey: key)
            i += count
        }
        await log.close()
        try? FileManager.default.removeItem(atPath: target + "/LOCK")
        try? FileManager.default.removeItem(atPath: target + "/CHECKPOINT")
        try damage(dir)
        var expected = Expected(records: [], openError: nil)
        let copy = try copy(name)
        defer { copy.remove() }
        if let failure = await openFailure(copy) {
            expected.openError = failure.description.replacingOccurrences(of: copy.path + "/", with: "")
        } else {
            let reopened = try EventLog.open(directory: copy.path, options: .test())
            expected.records = entries(try allRecords(reopened))
            await reopened.close()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(expected).write(to: URL(fileURLWithPath: target + "/expected.json"))
    }
}
