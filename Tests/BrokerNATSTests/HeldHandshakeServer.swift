import BrokerTestSupport
import Foundation
import Glibc
import Synchronization

/// A stand-in for nats-server on 127.0.0.1, for the one thing the real server
/// cannot be made to do: it sends INFO, then holds back the PONG that ends the
/// client's handshake until ``releasePong()``, so a test can act while the client
/// has sent its greeting but is not yet connected. It keeps what it received.
final class HeldHandshakeServer: Sendable {
    let port: Int
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var received = ""
        var isPongReleased = false
        var isStopRequested = false
    }

    init() throws {
        (listener, port) = try LoopbackSocket.bound(listening: 1)
    }

    /// Serves one connection on a thread of its own, for at most 20 s.
    func start() {
        Thread { [self] in serve() }.start()
    }

    var received: String { state.withLock { $0.received } }

    func releasePong() { state.withLock { $0.isPongReleased = true } }

    /// Makes the server's thread close its sockets (within 50 ms). Only that thread
    /// closes them, once: a descriptor closed here could already be another test's.
    func stop() {
        state.withLock { $0.isStopRequested = true }
    }

    private var isStopped: Bool { state.withLock { $0.isStopRequested } }

    private func serve() {
        defer { close(listener) }
        let deadline = Date().addingTimeInterval(20)
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        // accept and read wake every 50 ms to see the deadline and stop().
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var connection: Int32 = -1
        while connection < 0, Date() < deadline, !isStopped { connection = accept(listener, nil, nil) }
        guard connection >= 0 else { return }
        defer { close(connection) }
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        write(connection, #"INFO {"server_id":"held","version":"2.9.10","headers":true,"max_payload":1048576}"# + "\r\n")
        var ponged = false
        var bytes = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline, !isStopped {
            let count = read(connection, &bytes, bytes.count)
            if count == 0 { return }
            let (text, released) = state.withLock { state in
                if count > 0 { state.received += String(decoding: bytes[..<count], as: UTF8.self) }
                return (state.received, state.isPongReleased)
            }
            if !ponged, released, text.contains("PING\r\n") {
                write(connection, "PONG\r\n")
                ponged = true
            }
        }
    }

    private func write(_ connection: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
