import BrokerStore

/// One record of a `POST /insert` body: `{"event": "<name>", "data": <any JSON>}`,
/// optionally with `"expectedSeq": N` (SPEC.md 4.2).
public struct InsertBody: Sendable, Equatable {
    public let event: String
    /// The data in compact form.
    public let data: [UInt8]
    /// Store only if the name's latest record has this seq (0: it has none).
    public let expectedSeq: UInt64?

    public init(event: String, data: [UInt8], expectedSeq: UInt64? = nil) {
        self.event = event
        self.data = data
        self.expectedSeq = expectedSeq
    }

    /// Parses and checks a body holding one object. Other members are ignored; `event`,
    /// `data` or `expectedSeq` given twice is an error. Every failure says what is
    /// wrong, for a 400.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONCompactor.defaultMaxDepth) throws(JSONError) -> InsertBody {
        var fields = Fields()
        try JSONCompactor.parseObject(bytes, maxDepth: maxDepth) { (key, parser) throws(JSONError) in try fields.take(key, &parser) }
        return try fields.body()
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> InsertBody {
        try bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try parse(raw) } }.get()
    }

    /// Whether a JSON body is a batch (an array) rather than one object.
    public static func isBatch(_ bytes: UnsafeRawBufferPointer) -> Bool {
        JSONCompactor.startsWithArray(bytes)
    }

    /// Parses a JSON array of objects, each as ``parse(_:maxDepth:)``; a failure names
    /// the element's index (from 0).
    public static func parseBatch(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONCompactor.defaultMaxDepth, maxCount: Int
    ) throws(BatchProblem) -> [InsertBody] {
        var bodies: [InsertBody] = []
        var fields = Fields()
        do {
            _ = try JSONCompactor.parseArrayOfObjects(
                bytes, maxDepth: maxDepth,
                member: { (_, key, parser) throws(JSONError) in try fields.take(key, &parser) },
                objectEnd: { (index) throws(JSONError) in
                    guard index < maxCount else { throw JSONError(reason: "more than \(maxCount) records") }
                    bodies.append(try fields.body())
                    fields = Fields()
                })
        } catch {
            if bodies.count >= maxCount { throw .tooMany(limit: maxCount) }
            throw .invalid(error)
        }
        guard !bodies.isEmpty else { throw .invalid(JSONError(reason: "a batch holds at least one record")) }
        return bodies
    }

    /// Parses newline-delimited JSON: one object a line (`\n` or `\r\n`; blank lines
    /// are skipped). A failure names the line (from 1).
    public static func parseLines(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONCompactor.defaultMaxDepth, maxCount: Int
    ) throws(BatchProblem) -> [InsertBody] {
        var bodies: [InsertBody] = []
        var start = 0
        var line = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            line += 1
            let text = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            start = end + 1
            if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard bodies.count < maxCount else { throw .tooMany(limit: maxCount) }
            do {
                bodies.append(try parse(text, maxDepth: maxDepth))
            } catch {
                throw .invalid(JSONError(reason: "line \(line): \(error.reason)", offset: error.offset))
            }
        }
        guard !bodies.isEmpty else { throw .invalid(JSONError(reason: "a batch holds at least one record")) }
        return bodies
    }

    /// The members of one object, gathered while it is parsed.
    private struct Fields {
        var event: String?
        var data: [UInt8]?
        var expectedSeq: UInt64?
        var sawExpectedSeq = false

        mutating func take(_ key: String, _ parser: inout JSONCompactor) throws(JSONError) {
            switch key {
            case "event":
                guard event == nil else { throw JSONError(reason: "\"event\" is given twice") }
                guard parser.nextIsString() else { throw JSONError(reason: "\"event\" must be a string") }
                event = try parser.decodeString()
            case "data":
                guard data == nil else { throw JSONError(reason: "\"data\" is given twice") }
                data = try parser.compactValue()
            case "expectedSeq":
                guard !sawExpectedSeq else { throw JSONError(reason: "\"expectedSeq\" is given twice") }
                sawExpectedSeq = true
                // Any JSON form of a whole number: JSON Schema's integer (12, 12.0, 1.2e1).
                guard let seq = JSONNumber.wholeNumber(try parser.compactValue(), upTo: UInt64(Int64.max)) else {
                    throw JSONError(reason: "\"expectedSeq\" must be a seq: an integer from 0 to \(Int64.max)")
                }
                expectedSeq = seq
            default:
                _ = try parser.compactValue()
            }
        }

        func body() throws(JSONError) -> InsertBody {
            guard let event else { throw JSONError(reason: "\"event\" is missing") }
            if let why = EventName.problem(with: event) { throw JSONError(reason: why) }
            guard let data else { throw JSONError(reason: "\"data\" is missing") }
            return InsertBody(event: event, data: data, expectedSeq: expectedSeq)
        }
    }
}

/// Why a batch body was refused: invalid (a 400) or with too many records (a 413).
public enum BatchProblem: Error, Equatable, Sendable {
    case invalid(JSONError)
    case tooMany(limit: Int)
}
