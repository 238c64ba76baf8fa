import BrokerStore
import BrokerStoreTesting
import Foundation
import Testing

/// What the routes answer when they refuse, through the router over a memory store:
/// the JSON error form with the right status, and nothing stored.
@Suite struct RefusalTests {
    /// A stream that cannot start is an ordinary JSON answer, never an empty stream.
    @Test func aStreamRequestWithBadParametersIs400InJSON() async throws {
        try await RouterHarness.with { server in
            try await server.mustInsert("a", "1")
            for (query, headers, mention) in [
                ("?envelope=yes", [], "envelope"), ("?event=", [], "event"), ("", [("Last-Event-ID", "abc")], "Last-Event-ID"),
                ("?lastEventId=-1", [], "Last-Event-ID"), ("?prefix=", [], "prefix"),
            ] as [(String, [(String, String)], String)] {
                let reply = try await server.request(.GET, "/events" + query, headers: headers)
                #expect(reply.status == 400, "\(query) \(headers): \(reply.body)")
                #expect(reply.headers["Content-Type"].first?.hasPrefix("application/json") == true)
                #expect((reply.object["error"] as? String)?.contains(mention) == true, "\(query) \(headers): \(reply.body)")
            }
            #expect(server.store.lastSeq == 1)
        }
    }

    /// A store that cannot append (a failed fsync, a damaged segment, NATS away): every
    /// insert is a 503 that says why, reads go on, health says the same, and once the
    /// store appends again so does the server.
    @Test func aStoreThatFailsAppendsAnswers503AndReadsGoOn() async throws {
        let store = MemoryStore()
        try await RouterHarness.with(store: store) { server in
            try await server.mustInsert("a", "1")
            store.failAppends(with: .unavailable("the disk is on fire"))
            for body in [#"{"event":"a","data":2}"#, #"[{"event":"a","data":2},{"event":"b","data":3}]"#] {
                let reply = try await server.request(.POST, "/insert", body: Array(body.utf8), headers: [("Content-Type", "application/json")])
                #expect(reply.status == 503, "\(reply.body)")
                #expect((reply.object["error"] as? String)?.contains("the disk is on fire") == true, "\(reply.body)")
            }
            let health = try await server.request(.GET, "/healthz")
            #expect(health.status == 503)
            #expect((health.object["error"] as? String)?.contains("the disk is on fire") == true, "\(health.body)")
            #expect((try await server.request(.GET, "/audit/a").json as? [Any])?.count == 1)
            #expect((try await server.request(.GET, "/state").json as? [Any])?.count == 1)
            store.failAppends(with: nil)
            #expect(try await server.mustInsert("a", "4") == 2)
            #expect(try await server.request(.GET, "/healthz").status == 200)
        }
    }
}
