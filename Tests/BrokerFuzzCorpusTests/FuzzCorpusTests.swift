import BrokerFuzzChecks
import Foundation
import Testing

/// Replays the fuzzing corpus in `Fixtures/fuzz/` through the fuzz targets' checks,
/// so that every input the fuzzers kept (crashes they found included) stays handled.
@Suite(.timeLimit(.minutes(2))) struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz").path

    static func inputs(_ folder: String) throws -> [[UInt8]] {
        let directory = root + "/" + folder
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)))
        }
    }

    @Test func segmentCorpus() throws {
        let inputs = try Self.inputs("segments")
        #expect(inputs.count >= 5)
        let scratch = NSTemporaryDirectory() + "broker-fuzz-replay-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for input in inputs { input.withUnsafeBytes { FuzzChecks.segment($0, scratchDirectory: scratch) } }
    }

    @Test func insertBodyCorpus() throws {
        let inputs = try Self.inputs("insert-body")
        #expect(inputs.count >= 5)
        for input in inputs { input.withUnsafeBytes { FuzzChecks.insertBody($0) } }
    }

    /// The base log's own checkpoint first (used by the open), then every input kept.
    @Test func checkpointCorpus() throws {
        let directory = NSTemporaryDirectory() + "broker-fuzz-checkpoint-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seed = FuzzChecks.checkpointSeed(directory: directory)
        #expect(seed.count > 100)
        let inputs = try Self.inputs("checkpoint")
        #expect(inputs.count >= 5)
        for input in [seed] + inputs { input.withUnsafeBytes { FuzzChecks.checkpoint($0, directory: directory) } }
    }
}
