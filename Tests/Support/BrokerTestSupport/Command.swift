import Dispatch
import Foundation

/// The `broker` executable the tests run: the one built beside the test bundle (the
/// debug or the ThreadSanitizer build), else the debug build of this checkout.
public enum BrokerExecutable {
    /// The repository's root directory.
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var path: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("broker").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : root.appendingPathComponent(".build/debug/broker").path
    }
}

/// A command run to its end, with what it printed.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

public enum Command {
    /// Runs the command on a Dispatch thread, so that waiting for it never holds one of
    /// Swift concurrency's few threads (two on this machine: tests blocking them starve
    /// every other test, as seen under ThreadSanitizer).
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try run(executable, arguments, in: directory) as CommandResult })
            }
        }
    }

    /// Runs `executable arguments…` in `directory` with no standard input and waits for
    /// it; each caller bounds it (a command's own timeout, or a tool that ends).
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: errors, as: UTF8.self))
    }
}
