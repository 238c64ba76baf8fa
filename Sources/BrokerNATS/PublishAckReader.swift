/// Reads a publish acknowledgement as the server writes it, without a JSONDecoder:
/// one is on the path of every insert through a front, and decoding it with
/// Foundation cost more than the rest of the NATS work of an insert.
///
/// It reads one flat JSON object of string, number and boolean values whose strings
/// have no escapes: `{"stream":"BROKER","seq":12}`, with `"domain"` or
/// `"duplicate":true` when they apply. Anything else (an `error` object, an escape)
/// gives nil, and the caller decodes the answer in full.
struct PublishAckReader {
    private let bytes: [UInt8]
    private var at = 0

    static func read(_ bytes: [UInt8]) -> JetStream.PublishAck? {
        var reader = PublishAckReader(bytes: bytes)
        return reader.object()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private enum Value {
        case string(Substring)
        case number(UInt64)
        case boolean(Bool)
    }

    private mutating func object() -> JetStream.PublishAck? {
        var stream: Substring?
        var seq: UInt64?
        var duplicate: Bool?
        guard take(UInt8(ascii: "{")) else { return nil }
        while true {
            guard case .string(let key)? = value(), take(UInt8(ascii: ":")), let value = value() else { return nil }
            switch (key, value) {
            case ("stream", .string(let name)): stream = name
            case ("seq", .number(let number)): seq = number
            case ("duplicate", .boolean(let flag)): duplicate = flag
            case ("stream", _), ("seq", _), ("duplicate", _): return nil
            default: break  // such as "domain"
            }
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")), skipSpace() == bytes.count, let stream, let seq else { return nil }
            return JetStream.PublishAck(stream: String(stream), seq: seq, duplicate: duplicate)
        }
    }

    private mutating func value() -> Value? {
        skipSpace()
        guard at < bytes.count else { return nil }
        switch bytes[at] {
        case UInt8(ascii: "\""):
            let start = at + 1
            guard let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")),
                !bytes[start..<end].contains(UInt8(ascii: "\\"))
            else { return nil }
            at = end + 1
            return .string(Substring(decoding: bytes[start..<end], as: UTF8.self))
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            var number: UInt64 = 0
            while at < bytes.count, case UInt8(ascii: "0")...UInt8(ascii: "9") = bytes[at] {
                let (times10, overflow) = number.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[at] - UInt8(ascii: "0")))
                guard !overflow, !overflow2 else { return nil }
                number = sum
                at += 1
            }
            return .number(number)
        default:
            if word("true") { return .boolean(true) }
            if word("false") { return .boolean(false) }
            return nil
        }
    }

    private mutating func word(_ text: String) -> Bool {
        let count = text.utf8.count
        guard at + count <= bytes.count, bytes[at..<at + count].elementsEqual(text.utf8) else { return false }
        at += count
        return true
    }

    /// Skips whitespace, then takes `byte` if it is next.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    @discardableResult
    private mutating func skipSpace() -> Int {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        return at
    }
}
