/// UTF-8 validation without building a String (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF). Shared by event names and the JSON scanner.
package enum UTF8Validation {
    /// The length of the valid multi-byte sequence starting at `bytes[index]` (whose
    /// lead byte is 0x80 or above), or nil when it is not valid UTF-8.
    @inlinable
    package static func sequenceLength(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        let second = bytes[index + 1]
        guard second >= low, second <= high else { return nil }
        var next = index + 2
        while next < index + length {
            guard bytes[next] & 0xC0 == 0x80 else { return nil }
            next += 1
        }
        return length
    }

    /// Whether all of `bytes` is valid UTF-8.
    @inlinable
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
            } else {
                guard let length = sequenceLength(bytes, at: index) else { return false }
                index += length
            }
        }
        return true
    }
}
