import Dispatch
import Foundation
import Glibc

/// A plain TCP connection to the server, for requests no well-behaved client sends.
/// Its blocking calls run on a Dispatch thread, off the cooperative pool; every
/// read has a timeout.
public final class RawSocket: @unchecked Sendable {
    public let fd: Int32
    private var isOpen = true

    /// With `receiveBuffer`, the socket's receive buffer is set to that many bytes
    /// before it connects, so a client that does not read closes its TCP window soon.
    public init?(port: Int, receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }  // deinit closes fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if isOpen { close(fd) } }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads until the peer closes, `limit` bytes arrive, or `seconds` pass without data.
    public func receive(limit: Int = 1 << 20, seconds: Int = 5) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var timeout = timeval(tv_sec: seconds, tv_usec: 0)
                setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                var closed = false
                while received.count < limit {
                    let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
                    if n == 0 {
                        closed = true
                        break
                    }
                    if n < 0 {
                        closed = errno == ECONNRESET
                        break
                    }
                    received += buffer[0..<n]
                }
                continuation.resume(returning: (String(decoding: received, as: UTF8.self), closed))
            }
        }
    }

    /// Reads until `pattern` has been seen `count` times, the peer closes, or `seconds`
    /// pass without data; how many times it was seen. Keeps nothing but a short tail,
    /// so it can read hundreds of megabytes.
    public func count(_ pattern: String, upTo count: Int, seconds: Int = 10) async -> Int {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var timeout = timeval(tv_sec: seconds, tv_usec: 0)
                setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let needle = Array(pattern.utf8)
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                var tail = 0  // bytes kept at the front from the last read: a pattern cut in two
                var seen = 0
                while seen < count {
                    let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress! + tail, $0.count - tail, 0) }
                    if n <= 0 { break }
                    let filled = tail + n
                    buffer.withUnsafeBytes { bytes in
                        // memchr finds each candidate's first byte (memmem is not in Glibc's module).
                        let base = bytes.baseAddress!
                        var offset = 0
                        while offset + needle.count <= filled, let found = memchr(base + offset, Int32(needle[0]), filled - offset) {
                            let at = UnsafeRawPointer(found) - base
                            guard at + needle.count <= filled else { break }
                            if memcmp(found, needle, needle.count) == 0 {
                                seen += 1
                                offset = at + needle.count
                            } else {
                                offset = at + 1
                            }
                        }
                    }
                    tail = min(needle.count - 1, filled)
                    buffer.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + filled - tail, byteCount: tail) }
                }
                continuation.resume(returning: seen)
            }
        }
    }

    /// Closes at once with a reset instead of a clean FIN: a client that vanishes.
    public func abort() {
        guard isOpen else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
        isOpen = false
    }
}

/// The resident memory of a process, in bytes (from /proc).
public func residentBytes(of pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}
