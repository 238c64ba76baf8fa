import NIOCore

/// A message delivered to a subscription (`MSG` or `HMSG`).
public struct NATSMessage: Sendable {
    public let subject: String
    public let subscriptionID: UInt64
    public let replyTo: String?
    public let headers: NATSHeaders?
    public let payload: [UInt8]
}

/// What the server sends (NATS client protocol, "Protocol messages").
enum ServerOperation: Sendable {
    case info([UInt8])
    case message(NATSMessage)
    case ping
    case pong
    case ok
    case error(String)
}

/// What went wrong in the client, typed to the edge (the JetStream store maps each
/// to an HTTP answer).
public enum NATSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection to any server right now.
    case notConnected
    /// The server sent something this client cannot read.
    case protocolViolation(String)
    /// The server answered `-ERR`.
    case serverError(String)
    /// No answer within the request's timeout.
    case timeout(subject: String)
    /// Nobody is subscribed to the request's subject (a 503 status).
    case noResponders(subject: String)
    /// The client was closed.
    case closed
    /// A JetStream API call answered with an error.
    case jetStream(code: Int, errorCode: Int, description: String)
    /// An argument the protocol cannot carry (a subject with spaces, a header with CR or LF).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .notConnected: "not connected to any NATS server"
        case .protocolViolation(let why): "NATS protocol violation: \(why)"
        case .serverError(let why): "NATS server error: \(why)"
        case .timeout(let subject): "no answer on \(subject) in time"
        case .noResponders(let subject): "no responders on \(subject)"
        case .closed: "the NATS client is closed"
        case .jetStream(let code, let errorCode, let description): "JetStream error \(code)/\(errorCode): \(description)"
        case .invalidArgument(let why): why
        }
    }
}

/// Splits the server's byte stream into operations. A control line is read up to
/// CRLF; `MSG` and `HMSG` then take their announced payload and its CRLF.
struct ServerOperationDecoder: ByteToMessageDecoder {
    typealias InboundOut = ServerOperation
    /// The server's default `max_control_line` is 4 KiB; more than this is a broken stream.
    static let maxControlLine = 64 << 10

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let operation = try Self.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(operation))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// The next whole operation at the buffer's reader index (consumed), or nil when
    /// more bytes are needed (nothing consumed).
    static func next(from buffer: inout ByteBuffer) throws -> ServerOperation? {
        let view = buffer.readableBytesView
        guard let lineEnd = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > maxControlLine { throw NATSError.protocolViolation("control line longer than \(maxControlLine) bytes") }
            return nil
        }
        var line = Array(view[view.startIndex..<lineEnd])[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let consumedLine = lineEnd - view.startIndex + 1
        let words = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard let verb = words.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else {
            buffer.moveReaderIndex(forwardBy: consumedLine)
            return try next(from: &buffer)
        }
        switch verb {
        case "MSG", "HMSG":
            return try message(words: words, headers: verb == "HMSG", lineBytes: consumedLine, from: &buffer)
        case "PING", "PONG", "+OK", "-ERR", "INFO":
            let rest = line.drop { $0 != UInt8(ascii: " ") }.drop { $0 == UInt8(ascii: " ") }
            let operation: ServerOperation =
                switch verb {
                case "PING": .ping
                case "PONG": .pong
                case "+OK": .ok
                case "-ERR": .error(String(decoding: rest, as: UTF8.self).trimmingCharacters(in: "'"))
                default: .info(Array(rest))
                }
            buffer.moveReaderIndex(forwardBy: consumedLine)
            return operation
        default:
            throw NATSError.protocolViolation("unknown operation \(verb.prefix(32))")
        }
    }

    /// `MSG subject sid [reply] size` or `HMSG subject sid [reply] header-size total-size`.
    private static func message(words: [ArraySlice<UInt8>], headers: Bool, lineBytes: Int, from buffer: inout ByteBuffer) throws
        -> ServerOperation?
    {
        let sizes = headers ? 2 : 1
        guard words.count == 3 + sizes || words.count == 4 + sizes else {
            throw NATSError.protocolViolation("malformed \(headers ? "HMSG" : "MSG") line")
        }
        func number(_ word: ArraySlice<UInt8>) throws -> Int {
            guard let value = Int(String(decoding: word, as: UTF8.self)), value >= 0 else {
                throw NATSError.protocolViolation("bad size in a message line")
            }
            return value
        }
        let total = try number(words[words.count - 1])
        let headerSize = headers ? try number(words[words.count - 2]) : 0
        guard headerSize <= total, let sid = UInt64(String(decoding: words[2], as: UTF8.self)) else {
            throw NATSError.protocolViolation("bad sizes or sid in a message line")
        }
        // The payload and its CRLF must be here in full.
        guard buffer.readableBytes >= lineBytes + total + 2 else { return nil }
        let subject = String(decoding: words[1], as: UTF8.self)
        let replyTo = words.count == 4 + sizes ? String(decoding: words[3], as: UTF8.self) : nil
        buffer.moveReaderIndex(forwardBy: lineBytes)
        let headerBytes = buffer.readBytes(length: headerSize) ?? []
        let payload = buffer.readBytes(length: total - headerSize) ?? []
        buffer.moveReaderIndex(forwardBy: 2)
        var parsedHeaders: NATSHeaders?
        if headers {
            guard let block = NATSHeaders.parse(headerBytes) else { throw NATSError.protocolViolation("header block without NATS/1.0") }
            parsedHeaders = block
        }
        return .message(NATSMessage(subject: subject, subscriptionID: sid, replyTo: replyTo, headers: parsedHeaders, payload: payload))
    }
}

/// What the client sends, encoded.
enum ClientOperation {
    static func connect(_ json: String) -> String { "CONNECT \(json)\r\n" }

    static func publish(subject: String, replyTo: String?, headers: NATSHeaders?, payload: [UInt8], into buffer: inout ByteBuffer) {
        let reply = replyTo.map { " " + $0 } ?? ""
        if let headers {
            let block = headers.encoded
            buffer.writeString("HPUB \(subject)\(reply) \(block.count) \(block.count + payload.count)\r\n")
            buffer.writeBytes(block)
        } else {
            buffer.writeString("PUB \(subject)\(reply) \(payload.count)\r\n")
        }
        buffer.writeBytes(payload)
        buffer.writeString("\r\n")
    }

    static func subscribe(subject: String, id: UInt64) -> String { "SUB \(subject) \(id)\r\n" }
    static func unsubscribe(id: UInt64) -> String { "UNSUB \(id)\r\n" }
    static let ping = "PING\r\n"
    static let pong = "PONG\r\n"
}

extension String {
    fileprivate func trimmingCharacters(in quote: Character) -> String {
        var text = Substring(self)
        while text.first == quote { text.removeFirst() }
        while text.last == quote { text.removeLast() }
        return String(text)
    }
}

/// Subjects and header text the protocol can carry: a subject is non-empty with no
/// whitespace; header names and values have no CR or LF (and names no colon).
enum ProtocolText {
    static func checkSubject(_ subject: String) throws(NATSError) {
        if subject.isEmpty || subject.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw .invalidArgument("a NATS subject is non-empty and has no whitespace or control characters")
        }
    }

    static func checkHeaders(_ headers: NATSHeaders) throws(NATSError) {
        for field in headers.fields
        where field.name.isEmpty || field.name.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == UInt8(ascii: ":") || $0 == 0x20 })
            || field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A })
        {
            throw .invalidArgument("a NATS header name or value holds CR, LF or (in a name) a colon or space")
        }
    }
}
