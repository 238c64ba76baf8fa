import Glibc

/// Buffered standard output for the tools. A closed pipe (`| head`) ends the program
/// quietly with status 0 instead of an error.
final class Output {
    private var buffer: [UInt8] = []
    private let capacity = 64 << 10

    init() {
        signal(SIGPIPE, SIG_IGN)
        buffer.reserveCapacity(capacity)
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { flush() }
    }

    func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { flush() }
    }

    func line(_ text: String) {
        write(text)
        buffer.append(UInt8(ascii: "\n"))
    }

    func flush() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                exit(1)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// A progress line on standard error, only when it is a terminal, at most once a second.
struct Progress {
    private let enabled = isatty(2) != 0
    private var lastShown: ContinuousClock.Instant = .now
    let label: String

    init(_ label: String) { self.label = label }

    mutating func show(_ text: @autoclosure () -> String) {
        guard enabled, ContinuousClock.now - lastShown >= .seconds(1) else { return }
        lastShown = .now
        var line = "\r\(label): \(text())\u{1B}[K"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    func finish() {
        guard enabled else { return }
        var clear = "\r\u{1B}[K"
        clear.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// Writes a message to standard error.
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
}
