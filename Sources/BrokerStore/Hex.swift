/// Hexadecimal digits, read and written in one place for every module: percent and
/// `\u` escapes, subject names, frame problems, entity tags.
package enum Hex {
    /// The value of an ASCII hex digit of either case, or nil.
    package static func value(ofDigit byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `value` in hex, zero-padded on the left to at least `width` digits.
    package static func string(_ value: some BinaryInteger, width: Int = 0, uppercase: Bool = true) -> String {
        let digits = String(value, radix: 16, uppercase: uppercase)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Each byte as two lowercase digits.
    package static func string(bytes: some Sequence<UInt8>) -> String {
        bytes.map { string($0, width: 2, uppercase: false) }.joined()
    }
}
