import Testing

@testable import BrokerHTTP

@Suite struct ContentTypeTests {
    @Test(arguments: [
        ("application/json", true), ("Application/JSON", true), ("application/json; charset=utf-8", true),
        (" application/json ;charset=utf-8", true), ("application/jsonx", false), ("application/jso", false),
        ("text/json", false), ("", false), ("application/json\u{0F}", false), ("APPLICATION\u{0F}JSON", false),
    ])
    func insertAcceptsOnlyJSON(contentType: String, accepted: Bool) {
        #expect((InsertRoute.mediaType(contentType) == .json) == accepted)
    }

    @Test func aMissingContentTypeIsNotJSON() {
        #expect(InsertRoute.mediaType(nil) == nil)
    }
}
