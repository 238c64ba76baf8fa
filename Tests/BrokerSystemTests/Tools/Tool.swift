import BrokerLog
import BrokerTestSupport
import Foundation
import Testing

/// Runs the `broker` executable built beside the tests.
struct Tool {
    static let root = BrokerExecutable.root
    static var path: String { BrokerExecutable.path }
    static let segments = root.appendingPathComponent("Fixtures/segments").path
    static let goldens = root.appendingPathComponent("Fixtures/tools").path

    typealias Result = CommandResult

    /// Runs `broker arguments…` in `directory`, or with `shell` a bash command line in
    /// which `BROKER` stands for the executable.
    /// Async, on a Dispatch thread: a test waiting for a tool must not hold one of Swift
    /// concurrency's two threads (under TSan that starved the hub's tests).
    static func run(_ arguments: [String], in directory: String = segments, shell: String? = nil) async throws -> Result {
        if let shell {
            return try await Command.run(
                "/bin/bash", ["-c", "set -o pipefail; " + shell.replacingOccurrences(of: "BROKER", with: "'\(path)'")], in: directory)
        }
        return try await Command.run(path, arguments, in: directory)
    }

    /// A scratch data directory holding `files` (name to bytes); the caller removes it.
    static func scratchDirectory(_ label: String, _ files: [String: [UInt8]]) throws -> String {
        let path = NSTemporaryDirectory() + "broker-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, bytes) in files { FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes)) }
        return path
    }

    /// Compares with the golden file `Fixtures/tools/NAME` (rewritten with BROKER_REGENERATE_FIXTURES=1).
    static func matchesGolden(_ text: String, _ name: String) throws -> Bool {
        let file = goldens + "/" + name
        if ProcessInfo.processInfo.environment["BROKER_REGENERATE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(atPath: goldens, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return (try? String(contentsOfFile: file, encoding: .utf8)) == text
    }
}

/// Decodes the fixtures' expected.json values without knowing their types.
struct AnyCodable: Decodable {
    let int: Int?
    let string: String?
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        int = try? container.decode(Int.self)
        string = try? container.decode(String.self)
    }
}
