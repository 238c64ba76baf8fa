public import BrokerStore

/// Writes the JSON Broker sends: quoted strings and records.
public enum JSONWriter {
    /// Appends `string` as a JSON string literal.
    public static func appendQuoted(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                output.append(contentsOf: Array("\\u00".utf8) + Array(Hex.string(byte, width: 2, uppercase: false).utf8))
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// A JSON string literal.
    public static func quoted(_ string: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(string, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `{"seq":…,"event":…,"timestamp":…,"data":…}`. The server stores only
    /// JSON, so its records go out as they are; with `checkingData`, data that is not
    /// JSON (the library stores any bytes) goes out as `"dataBase64":"…"` instead, so
    /// that the line stays valid JSON (SPEC.md 4.1, 5.2).
    public static func appendRecord(_ record: Record, to output: inout [UInt8], checkingData: Bool = false) {
        output.append(contentsOf: #"{"seq":"#.utf8)
        output.append(contentsOf: String(record.seq).utf8)
        output.append(contentsOf: #","event":"#.utf8)
        appendQuoted(record.event, to: &output)
        output.append(contentsOf: #","timestamp":"#.utf8)
        output.append(contentsOf: String(record.timestamp).utf8)
        if checkingData, !JSONCompactor.isJSON(record.data) {
            output.append(contentsOf: #","dataBase64":""#.utf8)
            appendBase64(record.data, to: &output)
            output.append(contentsOf: #""}"#.utf8)
            return
        }
        output.append(contentsOf: #","data":"#.utf8)
        output.append(contentsOf: record.data)
        output.append(UInt8(ascii: "}"))
    }

    /// Appends `[record,…]`: the form of `/audit`, `/state` and a batch's answer.
    public static func appendRecords(_ records: [Record], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        for (index, record) in records.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            appendRecord(record, to: &output)
        }
        output.append(UInt8(ascii: "]"))
    }

    /// Appends `bytes` in standard base64 with padding (RFC 4648 section 4).
    public static func appendBase64(_ bytes: [UInt8], to output: inout [UInt8]) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var group = UInt32(bytes[index]) << 16
            if count > 1 { group |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { group |= UInt32(bytes[index + 2]) }
            for position in 0..<4 {
                output.append(position <= count ? alphabet[Int(group >> (18 - 6 * position)) & 63] : UInt8(ascii: "="))
            }
            index += 3
        }
    }

    /// `{"error": reason}`.
    public static func error(_ reason: String) -> [UInt8] {
        var bytes = Array(#"{"error":"#.utf8)
        appendQuoted(reason, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// A JSON object written member by member, for the bodies Broker builds itself
/// (health, conflicts, summaries): each value is escaped as its type needs.
public struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var isEmpty = true

    public init() {}

    private mutating func name(_ name: String) {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        JSONWriter.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// `"name":"value"`, or `"name":null` for nil.
    public mutating func add(_ name: String, _ value: String?) {
        self.name(name)
        if let value { JSONWriter.appendQuoted(value, to: &bytes) } else { bytes += Array("null".utf8) }
    }

    public mutating func add(_ name: String, _ value: some BinaryInteger) {
        self.name(name)
        bytes += Array(String(value).utf8)
    }

    public mutating func add(_ name: String, _ value: Bool) {
        self.name(name)
        bytes += Array((value ? "true" : "false").utf8)
    }

    /// `"name":` followed by `json`, which must be one JSON value.
    public mutating func add(_ name: String, json: [UInt8]) {
        self.name(name)
        bytes += json
    }

    /// `"name":[…]`, the elements JSON values each.
    public mutating func add(_ name: String, array elements: [[UInt8]]) {
        self.name(name)
        bytes.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += element
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The object, closed.
    public var json: [UInt8] { bytes + [UInt8(ascii: "}")] }
}
