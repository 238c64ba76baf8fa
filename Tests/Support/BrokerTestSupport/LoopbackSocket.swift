import Foundation
import Glibc

/// TCP sockets on 127.0.0.1 for the tests' own servers and port picks.
public enum LoopbackSocket {
    /// A socket bound to 127.0.0.1 on a port the kernel picks, listening when
    /// `backlog` is given: its descriptor (the caller closes it) and its port.
    public static func bound(listening backlog: Int32? = nil) throws -> (descriptor: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NATSServerProcess.Failure("socket failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
                    && (backlog.map { listen(fd, $0) == 0 } ?? true)
            }
        }
        guard bound else {
            close(fd)
            throw NATSServerProcess.Failure("bind or listen on 127.0.0.1 failed: errno \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
