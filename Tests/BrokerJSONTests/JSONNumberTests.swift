import BrokerJSON
import Testing

@Suite struct JSONNumberTests {
    static func whole(_ text: String, upTo limit: UInt64 = UInt64(Int64.max)) -> UInt64? {
        JSONNumber.wholeNumber(Array(text.utf8), upTo: limit)
    }

    @Test func everyFormOfAWholeNumberIsOne() {
        for (text, value) in [
            ("0", 0), ("-0", 0), ("0.0", 0), ("0e7", 0), ("12", 12), ("12.0", 12), ("12.000", 12), ("1.2e1", 12),
            ("1200E-2", 12), ("120e-1", 12), ("1.2E+1", 12), ("9223372036854775807", 9_223_372_036_854_775_807),
            ("9.223372036854775807e18", 9_223_372_036_854_775_807),
        ] as [(String, UInt64)] {
            #expect(Self.whole(text) == value, "\(text)")
        }
    }

    @Test func fractionsNegativesLargeValuesAndOtherTokensAreNot() {
        for text in [
            "12.5", "1.25e1", "-1", "-1.0", "9223372036854775808", "1e19", "1e1000000000", "1e-1000000000", "18446744073709551616",
            "\"12\"", "[12]", "true", "null", "", "-", "1.", ".5", "01", "1e", "1e+", "12 ",
        ] {
            #expect(Self.whole(text) == nil, "\(text)")
        }
        #expect(Self.whole("18446744073709551615", upTo: .max) == .max)
        #expect(Self.whole("5", upTo: 4) == nil)
    }
}
