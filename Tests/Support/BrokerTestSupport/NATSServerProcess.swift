import Foundation
import Glibc

/// A `nats-server` with JetStream on 127.0.0.1, in a scratch store directory, for
/// the tests of the NATS client and the JetStream store. Stopped by its PID.
public final class NATSServerProcess: @unchecked Sendable {
    // @unchecked: `process` is set once in init and only read after.
    public let port: Int
    public let storeDirectory: String
    /// Whether the store is this server's own (removed when it goes) or the caller's.
    private let ownsStore: Bool
    private let process: Process

    /// Debian's path first, then PATH.
    public static var executable: String? {
        for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }

    public var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts the server on a free port (or `port`) and waits until it accepts connections.
    public init(port: Int? = nil, storeDirectory: String? = nil) throws {
        guard let executable = Self.executable else { throw Failure("nats-server is not installed (make deps installs it)") }
        self.port = try port ?? Self.freePort()
        let directory = storeDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("nats-\(UUID().uuidString)").path
        self.storeDirectory = directory
        self.ownsStore = storeDirectory == nil
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-js", "-a", "127.0.0.1", "-p", String(self.port), "-sd", directory, "-n", "test-\(self.port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try Self.waitForPort(self.port, seconds: 10)
    }

    public var pid: Int32 { process.processIdentifier }

    /// SIGKILL, and waits for the process to end.
    public func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        kill()
        if ownsStore { try? FileManager.default.removeItem(atPath: storeDirectory) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// A TCP port nothing listens on now (bound to port 0, then released).
    public static func freePort() throws -> Int {
        let (fd, port) = try LoopbackSocket.bound()
        close(fd)
        return port
    }

    /// Polls until `port` on 127.0.0.1 accepts a connection, at most `seconds`.
    public static func waitForPort(_ port: Int, seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return }
            usleep(20_000)
        }
        throw Failure("nothing accepted connections on port \(port) within \(seconds) s")
    }
}
