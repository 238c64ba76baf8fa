import BrokerLog

/// A parsed `POST /insert` body: `{"event": "<name>", "data": <any JSON>}`.
public struct InsertBody: Sendable, Equatable {
    public let event: String
    /// The data in compact form.
    public let data: [UInt8]

    /// Parses and checks a body. Other members are ignored; `event` or `data` given
    /// twice is an error. Every failure says what is wrong, for a 400.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONCompactor.defaultMaxDepth) throws(JSONError) -> InsertBody {
        var event: String?
        var data: [UInt8]?
        try JSONCompactor.parseObject(bytes, maxDepth: maxDepth) { (key, parser) throws(JSONError) in
            switch key {
            case "event":
                guard event == nil else { throw JSONError(reason: "\"event\" is given twice") }
                guard parser.nextIsString() else { throw JSONError(reason: "\"event\" must be a string") }
                event = try parser.decodeString()
            case "data":
                guard data == nil else { throw JSONError(reason: "\"data\" is given twice") }
                data = try parser.compactValue()
            default:
                _ = try parser.compactValue()
            }
        }
        guard let event else { throw JSONError(reason: "\"event\" is missing") }
        if let why = EventName.problem(with: event) { throw JSONError(reason: why) }
        guard let data else { throw JSONError(reason: "\"data\" is missing") }
        return InsertBody(event: event, data: data)
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> InsertBody {
        try bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try parse(raw) } }.get()
    }
}
