/// Reading a JSON number as a whole number, in any of the forms JSON Schema calls an
/// integer: `12`, `12.0`, `1.2e1`, `1200E-2`, `-0`.
public enum JSONNumber {
    /// The value of `token` when it is a JSON number whose value is a whole number from
    /// 0 to `limit`; nil for any other token or value (a fraction, a negative number,
    /// too large, not a number).
    public static func wholeNumber(_ token: [UInt8], upTo limit: UInt64) -> UInt64? {
        var index = 0
        let negative = index < token.count && token[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var digits: [UInt8] = []
        while index < token.count, isDigit(token[index]) {
            digits.append(token[index])
            index += 1
        }
        guard !digits.isEmpty, digits.count == 1 || digits[0] != UInt8(ascii: "0") else { return nil }
        var fractionLength = 0
        if index < token.count, token[index] == UInt8(ascii: ".") {
            index += 1
            while index < token.count, isDigit(token[index]) {
                digits.append(token[index])
                fractionLength += 1
                index += 1
            }
            guard fractionLength > 0 else { return nil }
        }
        var exponent = 0
        if index < token.count, token[index] == UInt8(ascii: "e") || token[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < token.count, token[index] == UInt8(ascii: "+") || token[index] == UInt8(ascii: "-") {
                exponentNegative = token[index] == UInt8(ascii: "-")
                index += 1
            }
            let start = index
            while index < token.count, isDigit(token[index]) {
                // Past a million the value is 0, a fraction or too large either way.
                exponent = min(exponent * 10 + Int(token[index] - 0x30), 1_000_000)
                index += 1
            }
            guard index > start else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard index == token.count else { return nil }
        // The value is digits × 10^scale; leading zeros say nothing.
        var significant = digits.drop { $0 == UInt8(ascii: "0") }
        guard !significant.isEmpty else { return 0 }  // 0, 0.0, -0, 0e5
        guard !negative else { return nil }
        var scale = exponent - fractionLength
        if scale < 0 {
            // A whole number only if the digits below the point are all zeros.
            guard -scale < significant.count, significant.suffix(-scale).allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
            significant = significant.dropLast(-scale)
            scale = 0
        }
        guard significant.count + scale <= 20 else { return nil }
        var value: UInt64 = 0
        for digit in significant {
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (plus, overflowPlus) = times.addingReportingOverflow(UInt64(digit - 0x30))
            guard !overflowTimes, !overflowPlus else { return nil }
            value = plus
        }
        for _ in 0..<scale {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = times
        }
        return value <= limit ? value : nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}
