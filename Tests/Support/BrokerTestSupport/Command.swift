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

/// Runs blocking work (a child process, a synchronous open of a log, a loop of file
/// I/O) on a Dispatch thread and waits for it without holding one of Swift
/// concurrency's threads: there are two on this machine, and tests that block them
/// starve every other test's tasks (the hub's burst test stalled for most of its
/// minute under ThreadSanitizer while two damage tests reopened logs in a loop).
public func onDispatchThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

public enum Command {
    /// Runs the command on a Dispatch thread (``onDispatchThread(_:)``).
    public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) async throws -> CommandResult {
        try await onDispatchThread { try run(executable, arguments, in: directory) as CommandResult }
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
