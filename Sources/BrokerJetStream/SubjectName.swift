public import BrokerNATS
import BrokerStore

/// The subject an event name is stored under (SPEC.md 7.2): the stream's subject
/// prefix, then one token per byte of the name's UTF-8, then an end token `%`.
/// A byte that is printable ASCII other than `.`, `*`, `>` and `%` is its own token;
/// every other byte is `%` and two uppercase hex digits. So `user:42` is
/// `BROKER.u.s.e.r.:.4.2.%`, and the names under a prefix are one subject filter:
/// prefix `us` is `BROKER.u.s.>`.
public struct SubjectName: Sendable {
    /// The tokens before the name's, as in `BROKER`.
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    /// Every subject the stream holds.
    public var streamSubjects: String { prefix + ".>" }

    static let endToken = "%"

    public func subject(for name: String) -> String {
        var subject = prefix
        subject.reserveCapacity(prefix.utf8.count + name.utf8.count * 2 + 2)
        for byte in name.utf8 { Self.appendToken(byte, to: &subject) }
        subject += "." + Self.endToken
        return subject
    }

    /// The filter matching every name that starts with `namePrefix` (itself included).
    public func filter(forPrefix namePrefix: String) -> String {
        var subject = prefix
        for byte in namePrefix.utf8 { Self.appendToken(byte, to: &subject) }
        return subject + ".>"
    }

    /// The name a subject stores, or nil when the subject is not one this encoding makes.
    public func name(of subject: String) -> String? {
        guard subject.hasPrefix(prefix + ".") else { return nil }
        let tokens = subject.utf8.dropFirst(prefix.utf8.count + 1).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard let last = tokens.last, last.elementsEqual(Self.endToken.utf8) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count)
        for token in tokens.dropLast() {
            if token.count == 1, let byte = token.first, Self.isPlain(byte) {
                bytes.append(byte)
            } else if token.count == 3, token.first == UInt8(ascii: "%"), let high = Self.hex(token[token.index(after: token.startIndex)]),
                let low = Self.hex(token[token.index(token.startIndex, offsetBy: 2)]), !Self.isPlain(high << 4 | low)
            {
                bytes.append(high << 4 | low)
            } else {
                return nil
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The event name of a stored message that is a Broker record: its subject is
    /// an encoding of a name and its data is one line of JSON as Broker writes it
    /// (not empty, no CR or LF). Nil for anything else on the stream (SPEC.md 7.2).
    public func event(of message: JetStream.StoredMessage) -> String? {
        let data = message.payload
        guard !data.isEmpty, !data.contains(0x0A), !data.contains(0x0D) else { return nil }
        return name(of: message.subject)
    }

    private static func appendToken(_ byte: UInt8, to subject: inout String) {
        subject.append(".")
        if isPlain(byte) {
            subject.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            subject += "%" + Hex.string(byte, width: 2)
        }
    }

    static func isPlain(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: ".") && byte != UInt8(ascii: "*") && byte != UInt8(ascii: ">")
            && byte != UInt8(ascii: "%")
    }

    /// Only the uppercase digits `appendToken` writes: a name has one subject.
    private static func hex(_ byte: UInt8) -> UInt8? {
        UInt8(ascii: "a")...UInt8(ascii: "f") ~= byte ? nil : Hex.value(ofDigit: byte)
    }
}
