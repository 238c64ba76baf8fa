import BrokerAuth
import Foundation
import Testing

@testable import BrokerHTTP

/// Where a request's token is found (SPEC.md 4.11), without a server.
@Suite struct TokenLocationTests {
    @Test func bearerSchemeWithoutCase() {
        #expect(AccessPolicy.bearerToken("Bearer abc.def.ghi") == "abc.def.ghi")
        #expect(AccessPolicy.bearerToken("bearer   abc") == "abc")
        #expect(AccessPolicy.bearerToken("BEARER abc") == "abc")
        #expect(AccessPolicy.bearerToken("Basic dXNlcjpwYXNz") == nil)
        #expect(AccessPolicy.bearerToken("Bearer") == nil)
        #expect(AccessPolicy.bearerToken("Bearer ") == nil)
        #expect(AccessPolicy.bearerToken("Bearerabc") == nil)
        #expect(AccessPolicy.bearerToken("Béarer abc") == nil)
    }

    @Test func cookieByName() {
        #expect(AccessPolicy.cookie(named: "broker_token", in: "a=1; broker_token=t.o.k; b=2") == "t.o.k")
        #expect(AccessPolicy.cookie(named: "broker_token", in: "broker_token=\"quoted\"") == "quoted")
        #expect(AccessPolicy.cookie(named: "broker_token", in: "xbroker_token=1; broker_tokens=2") == nil)
        #expect(AccessPolicy.cookie(named: "broker_token", in: "") == nil)
    }
}
