import Testing

@Suite(.timeLimit(.minutes(2))) struct CORSTests {
    static let preflight = [
        ("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type"),
    ]

    @Test func wildcardOriginAllowsAny() async throws {
        try await RouterHarness.with { server in
            for path in ["/insert", "/events", "/audit/x", "/healthz"] {
                let reply = try await server.request(.OPTIONS, path, headers: Self.preflight)
                #expect(reply.status == 204, "\(path)")
                #expect(reply.headers["Access-Control-Allow-Origin"].first == "*")
                #expect(reply.headers["Access-Control-Allow-Methods"].first == "GET, POST, OPTIONS")
                let allowed = reply.headers["Access-Control-Allow-Headers"].first?.lowercased() ?? ""
                #expect(allowed == "content-type, authorization, last-event-id, idempotency-key")
                #expect(reply.headers["Access-Control-Max-Age"].first == "3600")
            }
            let simple = try await server.request(.GET, "/healthz", headers: [("Origin", "https://any.example")])
            #expect(simple.headers["Access-Control-Allow-Origin"].first == "*")
        }
    }

    @Test func aSpecificOriginIsEchoedOnlyWhenItMatches() async throws {
        let configuration = ServerHarness.configuration { $0.allowedOrigin = "https://app.example" }
        try await RouterHarness.with(configuration) { server in
            let ok = try await server.request(.OPTIONS, "/insert", headers: Self.preflight)
            #expect(ok.status == 204)
            #expect(ok.headers["Access-Control-Allow-Origin"].first == "https://app.example")
            #expect(ok.headers["Vary"].contains("Origin"))
            #expect(ok.headers["Access-Control-Max-Age"].first == "3600")

            let other = try await server.request(
                .OPTIONS, "/insert", headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
            #expect(other.headers["Access-Control-Allow-Origin"].isEmpty)

            let get = try await server.request(.GET, "/healthz", headers: [("Origin", "https://app.example")])
            #expect(get.headers["Access-Control-Allow-Origin"].first == "https://app.example")
            #expect(get.headers["Vary"].contains("Origin"))
            let error = try await server.request(.GET, "/audit/none", headers: [("Origin", "https://app.example")])
            #expect(error.status == 404)
            #expect(error.headers["Access-Control-Allow-Origin"].first == "https://app.example")
            let foreign = try await server.request(.GET, "/healthz", headers: [("Origin", "https://evil.example")])
            #expect(foreign.headers["Access-Control-Allow-Origin"].isEmpty)
        }
    }
}
