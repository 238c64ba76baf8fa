import BrokerLog

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
                let hex = String(byte, radix: 16)
                output.append(contentsOf: Array("\\u00".utf8) + Array((hex.count == 1 ? "0" + hex : hex).utf8))
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

    /// Appends `{"seq":…,"event":…,"timestamp":…,"data":…}`; `data` is stored JSON.
    public static func appendRecord(_ record: Record, to output: inout [UInt8]) {
        output.append(contentsOf: #"{"seq":"#.utf8)
        output.append(contentsOf: String(record.seq).utf8)
        output.append(contentsOf: #","event":"#.utf8)
        appendQuoted(record.event, to: &output)
        output.append(contentsOf: #","timestamp":"#.utf8)
        output.append(contentsOf: String(record.timestamp).utf8)
        output.append(contentsOf: #","data":"#.utf8)
        output.append(contentsOf: record.data)
        output.append(UInt8(ascii: "}"))
    }

    /// `{"error": reason}`.
    public static func error(_ reason: String) -> [UInt8] {
        var bytes = Array(#"{"error":"#.utf8)
        appendQuoted(reason, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
