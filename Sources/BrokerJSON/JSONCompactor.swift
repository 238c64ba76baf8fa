import BrokerStore

/// Why a JSON text was rejected: a reason and the byte offset where it was found.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    /// Where the syntax broke; nil for a problem with a value (a missing member, say).
    public let offset: Int?

    public init(reason: String, offset: Int? = nil) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { offset.map { "\(reason) at byte \($0)" } ?? reason }
}

/// Validates JSON (RFC 8259) and re-emits it compactly: no whitespace outside strings,
/// strings and numbers byte-for-byte as written (numbers are never converted, so
/// their digits never change). Nesting deeper than `maxDepth` is rejected, so no
/// input can exhaust the stack.
public struct JSONCompactor {
    public static let defaultMaxDepth = 512

    private let input: UnsafeRawBufferPointer
    private var position = 0
    private let maxDepth: Int
    private var output: [UInt8] = []

    private init(_ input: UnsafeRawBufferPointer, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    /// The compact form of one JSON value (whitespace around it allowed).
    /// Whether `bytes` are one JSON value (RFC 8259), whitespace around it allowed.
    public static func isJSON(_ bytes: [UInt8]) -> Bool {
        (try? compact(bytes)) != nil
    }

    public static func compact(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> [UInt8] {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) in
                var parser = JSONCompactor(raw, maxDepth: maxDepth)
                parser.output.reserveCapacity(bytes.count)
                parser.skipWhitespace()
                try parser.value(depth: 0)
                parser.skipWhitespace()
                try parser.expectEnd()
                return parser.output
            }
        }.get()
    }

    /// Parses an object, handing each member's decoded key to `member`, which must
    /// consume the value with ``compactValue()`` or ``decodeString()``.
    static func parseObject(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int, member: (String, inout JSONCompactor) throws(JSONError) -> Void
    ) throws(JSONError) {
        var parser = JSONCompactor(bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        try parser.members(member)
        parser.skipWhitespace()
        try parser.expectEnd()
    }

    /// Parses an array of objects, handing each object's index and members to `member`.
    /// Returns the number of objects.
    static func parseArrayOfObjects(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int, member: (Int, String, inout JSONCompactor) throws(JSONError) -> Void,
        objectEnd: (Int) throws(JSONError) -> Void
    ) throws(JSONError) -> Int {
        var parser = JSONCompactor(bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        guard parser.peek() == UInt8(ascii: "[") else { throw parser.error("expected a JSON object or array") }
        parser.position += 1
        parser.skipWhitespace()
        var count = 0
        if parser.peek() == UInt8(ascii: "]") {
            parser.position += 1
        } else {
            while true {
                parser.skipWhitespace()
                let index = count
                do {
                    try parser.members { (key, inner) throws(JSONError) in try member(index, key, &inner) }
                    try objectEnd(index)
                } catch {
                    throw JSONError(reason: "element \(index): \(error.reason)", offset: error.offset)
                }
                count += 1
                parser.skipWhitespace()
                if parser.peek() == UInt8(ascii: ",") {
                    parser.position += 1
                    continue
                }
                try parser.expect(UInt8(ascii: "]"))
                break
            }
        }
        parser.skipWhitespace()
        try parser.expectEnd()
        return count
    }

    /// The members of the object that starts here.
    private mutating func members(_ member: (String, inout JSONCompactor) throws(JSONError) -> Void) throws(JSONError) {
        guard peek() == UInt8(ascii: "{") else { throw error("expected a JSON object") }
        position += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected an object key") }
            let key = try decodeString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            try member(key, &self)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Whether the next value is an array (a batch).
    static func startsWithArray(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 } == UInt8(ascii: "[")
    }

    /// The next value in compact form.
    mutating func compactValue() throws(JSONError) -> [UInt8] {
        output.removeAll(keepingCapacity: true)
        try value(depth: 1)
        return output
    }

    /// Whether the next value is a string.
    func nextIsString() -> Bool { peek() == UInt8(ascii: "\"") }

    /// The next value, which must be a string, decoded (escapes resolved). Fails on
    /// escapes that make no valid Unicode (lone surrogates).
    mutating func decodeString() throws(JSONError) -> String {
        let start = position
        try string()
        let body = UnsafeRawBufferPointer(rebasing: input[(start + 1)..<(position - 1)])
        guard body.contains(UInt8(ascii: "\\")) else { return String(decoding: body, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        var index = 0
        var utf8: [UInt8] = []
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll()
            }
        }
        while index < body.count {
            let byte = body[index]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                index += 1
                continue
            }
            flush()
            let escape = body[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = Self.hex4(body, index)
                index += 4
                if (0xD800...0xDBFF).contains(code), index + 6 <= body.count, body[index] == UInt8(ascii: "\\"),
                    body[index + 1] == UInt8(ascii: "u")
                {
                    let low = Self.hex4(body, index + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                guard let scalar = Unicode.Scalar(code) else {
                    throw JSONError(reason: "string escapes a lone surrogate", offset: start + 1 + index)
                }
                scalars.append(scalar)
            default: scalars.append(Unicode.Scalar(escape))  // \" \\ \/
            }
        }
        flush()
        return String(scalars)
    }

    private static func hex4(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for byte in bytes[at..<(at + 4)] { value = value << 4 | UInt32(Hex.value(ofDigit: byte)!) }
        return value
    }

    // MARK: Grammar

    private mutating func value(depth: Int) throws(JSONError) {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        guard let next = peek() else { throw error("unexpected end of input") }
        switch next {
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw error("unexpected character")
        }
    }

    private mutating func object(depth: Int) throws(JSONError) {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        emit()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            emit()
            return
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected an object key") }
            try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            output.append(UInt8(ascii: ":"))
            skipWhitespace()
            try value(depth: depth)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                emit()
                continue
            }
            try expect(UInt8(ascii: "}"))
            output.append(UInt8(ascii: "}"))
            return
        }
    }

    private mutating func array(depth: Int) throws(JSONError) {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        emit()
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            emit()
            return
        }
        while true {
            skipWhitespace()
            try value(depth: depth)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                emit()
                continue
            }
            try expect(UInt8(ascii: "]"))
            output.append(UInt8(ascii: "]"))
            return
        }
    }

    /// A string, copied as written after checking escapes, control characters and UTF-8.
    private mutating func string() throws(JSONError) {
        let start = position
        position += 1
        while true {
            guard let byte = peek() else { throw JSONError(reason: "unterminated string", offset: start) }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                output.append(contentsOf: input[start..<position])
                return
            case UInt8(ascii: "\\"):
                position += 1
                guard let escape = peek() else { throw JSONError(reason: "unterminated string", offset: start) }
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    for _ in 0..<4 {
                        guard let digit = peek(), Hex.value(ofDigit: digit) != nil else { throw error("bad \\u escape") }
                        position += 1
                    }
                default:
                    throw error("bad escape in string")
                }
            case 0..<0x20:
                throw error("unescaped control character in string")
            case 0x80...:
                try utf8Sequence()
            default:
                position += 1
            }
        }
    }

    /// One multi-byte UTF-8 sequence.
    private mutating func utf8Sequence() throws(JSONError) {
        guard let length = UTF8Validation.sequenceLength(input, at: position) else { throw error("invalid UTF-8") }
        position += length
    }

    private mutating func number() throws(JSONError) {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        guard let first = peek(), isDigit(first) else { throw error("bad number") }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let digit = peek(), isDigit(digit) else { throw error("bad number") }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard let digit = peek(), isDigit(digit) else { throw error("bad number") }
            skipDigits()
        }
        output.append(contentsOf: input[start..<position])
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let bytes = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard position + bytes.count <= input.count,
            input[position..<(position + bytes.count)].elementsEqual(bytes)
        else { throw error("unexpected word") }
        output.append(contentsOf: bytes)
        position += bytes.count
    }

    // MARK: Helpers

    private func peek() -> UInt8? { position < input.count ? input[position] : nil }
    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private mutating func skipDigits() { while let byte = peek(), isDigit(byte) { position += 1 } }

    private mutating func emit() {
        output.append(input[position])
        position += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard peek() == byte else {
            throw error(peek() == nil ? "unexpected end of input" : "expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    private func expectEnd() throws(JSONError) {
        if position != input.count { throw error("unexpected data after the JSON value") }
    }

    private func error(_ reason: String) -> JSONError { JSONError(reason: reason, offset: position) }
}
