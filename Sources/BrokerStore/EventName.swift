/// The rules for event names: 1 to 256 bytes of UTF-8 with no control character
/// (U+0000 to U+001F, U+007F).
public enum EventName {
    public static let maxBytes = 256

    /// Why `name` is not a valid event name, or nil when it is.
    public static func problem(with name: String) -> String? {
        var name = name
        return name.withUTF8 { problem(withUTF8: UnsafeRawBufferPointer($0)) }
    }

    /// Why these bytes are not a valid event name, or nil when they are.
    package static func problem(withUTF8 bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.isEmpty { return "event name is empty" }
        if bytes.count > maxBytes { return "event name is \(bytes.count) bytes, more than \(maxBytes)" }
        // Multi-byte UTF-8 sequences never contain bytes below 0x80, so a byte test finds
        // every control character.
        for byte in bytes where byte < 0x20 || byte == 0x7F {
            return "event name contains control character 0x\(Hex.string(byte))"
        }
        if !UTF8Validation.isValid(bytes) { return "event name is not valid UTF-8" }
        return nil
    }
}
