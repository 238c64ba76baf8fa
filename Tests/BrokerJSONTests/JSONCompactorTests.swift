import BrokerJSON
import Testing

@Suite struct JSONCompactorTests {
    func compact(_ text: String) throws -> String {
        String(decoding: try JSONCompactor.compact(Array(text.utf8)), as: UTF8.self)
    }

    @Test func removesWhitespaceOutsideStringsAndKeepsEverythingElse() throws {
        #expect(try compact(" { \"a\" : [ 1 , 2.50 , -0e+7 ] ,\n\t\"b\" : \"x  y\\n\" } ") == #"{"a":[1,2.50,-0e+7],"b":"x  y\n"}"#)
        #expect(try compact("123456789012345678901234567890.000000000000000001") == "123456789012345678901234567890.000000000000000001")
        #expect(try compact(#""\u00E9\ud83d\ude00\/""#) == #""\u00E9\ud83d\ude00\/""#)
        #expect(try compact("[true,false,null]") == "[true,false,null]")
        #expect(try compact("\"é😀\"") == "\"é😀\"")
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "\"\\x\"",
        "\"\\u12G4\"", "\"tab\there\"", "\"unterminated", "[1] [2]", "{\"a\" 1}", "{1:2}", "NaN", "Infinity",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONError.self) { _ = try JSONCompactor.compact(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        for bytes: [UInt8] in [
            [0x22, 0xC3, 0x28, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
            [0x22, 0xE2, 0x82, 0x22],
        ] {
            #expect(throws: JSONError.self) { _ = try JSONCompactor.compact(bytes) }
        }
    }

    @Test func limitsNesting() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try compact(ok) == ok)
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: JSONError.self) { _ = try JSONCompactor.compact(Array(deep.utf8)) }
        let veryDeep = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONError.self) { _ = try JSONCompactor.compact(Array(veryDeep.utf8)) }
    }

    @Test func insertBodyDecodesTheNameAndCompactsData() throws {
        let body = try InsertBody.parse(Array(#" {"other": [1, {"x": 2}], "event" : "caf\u00e9 \ud83d\ude00", "data" : { "k" : [ 1 ] } } "#.utf8))
        #expect(body.event == "café 😀")
        #expect(String(decoding: body.data, as: UTF8.self) == #"{"k":[1]}"#)
    }

    @Test func insertBodyErrorsSayWhatIsWrong() {
        let cases = [
            (#"{"data":1}"#, "\"event\" is missing"),
            (#"{"event":"a"}"#, "\"data\" is missing"),
            (#"{"event":1,"data":1}"#, "\"event\" must be a string"),
            (#"[]"#, "expected a JSON object at byte 0"),
            (#"{"event":"","data":1}"#, "event name is empty"),
        ]
        for (text, reason) in cases {
            do {
                _ = try InsertBody.parse(Array(text.utf8))
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description == reason, "\(text)")
            }
        }
    }

    @Test func quotingEscapesWhatJSONRequires() {
        #expect(JSONWriter.quoted("a\"b\\c\nd\u{01}é") == #""a\"b\\c\nd\u0001é""#)
    }
}
