import BrokerFuzzChecks
import BrokerTestSupport
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

    /// Each input opens a log (with an fsync): on a Dispatch thread, so that the
    /// replay does not hold Swift concurrency's threads from the other suites.
    @Test func segmentCorpus() async throws {
        let inputs = try Self.inputs("segments")
        #expect(inputs.count >= 5)
        let scratch = NSTemporaryDirectory() + "broker-fuzz-replay-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try await onDispatchThread {
            for input in inputs { input.withUnsafeBytes { FuzzChecks.segment($0, scratchDirectory: scratch) } }
        }
    }

    @Test func insertBodyCorpus() throws {
        let inputs = try Self.inputs("insert-body")
        #expect(inputs.count >= 5)
        for input in inputs { input.withUnsafeBytes { FuzzChecks.insertBody($0) } }
    }

    /// The base log's own checkpoint first (used by the open), then every input kept.
    /// On a Dispatch thread, as above; building the base log also waits on a semaphore.
    @Test func checkpointCorpus() async throws {
        let directory = NSTemporaryDirectory() + "broker-fuzz-checkpoint-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inputs = try Self.inputs("checkpoint")
        #expect(inputs.count >= 5)
        let seed = try await onDispatchThread {
            let seed = FuzzChecks.checkpointSeed(directory: directory)
            for input in [seed] + inputs { input.withUnsafeBytes { FuzzChecks.checkpoint($0, directory: directory) } }
            return seed
        }
        #expect(seed.count > 100)
    }
}
