import BrokerAuth
import Testing

@Suite struct ScopeTests {
    @Test func exactAndPrefixPatterns() throws {
        let scope = try Scope(parsing: ["orders/*", "prices", "a*b"])
        #expect(scope.allows("orders/1"))
        #expect(scope.allows("orders/"))
        #expect(!scope.allows("orders"))
        #expect(scope.allows("prices"))
        #expect(!scope.allows("prices2"))
        #expect(!scope.allows("b/x"))
        // A `*` that is not last is an ordinary character.
        #expect(scope.allows("a*b"))
        #expect(!scope.allows("axb"))
    }

    @Test func starAloneCoversEverything() throws {
        let scope = try Scope(parsing: ["*"])
        #expect(scope.coversEverything)
        #expect(scope.allows("anything/at/all"))
        #expect(!Scope.nothing.allows("x"))
        #expect(!(try Scope(parsing: ["a/*"])).coversEverything)
    }

    @Test func invalidPatternsAreRefused() {
        #expect(throws: AuthError.self) { try ScopePattern("") }
        #expect(throws: AuthError.self) { try ScopePattern("a\u{01}") }
        #expect(throws: AuthError.self) { try ScopePattern(String(repeating: "x", count: 258)) }
        #expect((try? ScopePattern(String(repeating: "x", count: 256) + "*")) != nil)
    }

    @Test func unionAllowsWhatEitherAllows() throws {
        let union = try Scope(parsing: ["a/*"]).union(try Scope(parsing: ["c"]))
        #expect(union.allows("a/1") && union.allows("c") && !union.allows("b"))
        #expect(Scope.nothing.union(union) == union && union.union(.nothing) == union)
    }
}
