import BrokerTestSupport
import Foundation
import Testing

@testable import BrokerHTTP

/// The files compiled into the binary (SPEC.md 4.17), through the router: served as
/// they are in Sources/BrokerHTTP/Assets, with a strong ETag that If-None-Match
/// turns into a 304 without a body.
@Suite struct CompiledAssetTests {
    static let assets: [(path: String, file: String, contentType: String)] = [
        ("/", "console.html", "text/html; charset=utf-8"),
        ("/broker.js", "broker.js", "text/javascript; charset=utf-8"),
        ("/broker.d.ts", "broker.d.ts", "application/typescript; charset=utf-8"),
        ("/openapi.json", "openapi.json", "application/json; charset=utf-8"),
    ]
    static let folder = BrokerExecutable.root.appendingPathComponent("Sources/BrokerHTTP/Assets").path

    /// What is served is the file in the repository, byte for byte: the build embeds
    /// the files as they are now, never a stale copy.
    @Test(arguments: assets)
    func eachAssetIsServedAsTheFileIs(path: String, file: String, contentType: String) async throws {
        let onDisk = try String(contentsOfFile: Self.folder + "/" + file, encoding: .utf8)
        try await RouterHarness.with { server in
            let reply = try await server.request(.GET, path)
            #expect(reply.status == 200)
            #expect(reply.body == onDisk)
            #expect(reply.headers["Content-Type"].first == contentType)
            #expect(reply.headers["Cache-Control"].first == "no-cache")
        }
    }

    @Test(arguments: assets)
    func aMatchingIfNoneMatchIs304WithoutABody(path: String, file: String, contentType: String) async throws {
        try await RouterHarness.with { server in
            let first = try await server.request(.GET, path)
            let etag = try #require(first.headers["ETag"].first)
            #expect(etag.count == 34 && etag.hasPrefix("\"") && etag.hasSuffix("\""), "a strong tag of 32 hex digits: \(etag)")
            for condition in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let again = try await server.request(.GET, path, headers: [("If-None-Match", condition)])
                #expect(again.status == 304, "If-None-Match: \(condition)")
                #expect(again.body.isEmpty)
                #expect(again.headers["ETag"].first == etag)
            }
            for condition in ["\"other\"", String(etag.dropLast()) + "0\"", ""] {
                let changed = try await server.request(.GET, path, headers: [("If-None-Match", condition)])
                #expect(changed.status == 200, "If-None-Match: \(condition)")
                #expect(changed.body == first.body)
            }
        }
    }

    /// The tag is the content's: each asset has its own, the same in every server.
    @Test func tagsDifferByContentAndHoldAcrossServers() async throws {
        let tags = try await RouterHarness.with { server in
            var tags: [String] = []
            for asset in Self.assets { tags.append(try await server.request(.GET, asset.path).headers["ETag"].first ?? "") }
            return tags
        }
        #expect(Set(tags).count == Self.assets.count)
        let again = try await RouterHarness.with { server in try await server.request(.GET, "/broker.js").headers["ETag"].first }
        #expect(again == tags[1])
    }

    @Test func theConsoleIsA404WhenTurnedOff() async throws {
        try await RouterHarness.with(ServerHarness.configuration { $0.console = false }) { server in
            let reply = try await server.request(.GET, "/")
            #expect(reply.status == 404)
            #expect(reply.object["error"] is String)
        }
    }
}
