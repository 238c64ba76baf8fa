import BrokerLog
import Foundation
import Logging
import Testing

@testable import BrokerHTTP

/// The OpenAPI document (SPEC.md 4.14) against the server's routes: every route is
/// described and nothing else is. Schemathesis checks the rest against a live server
/// (`make test-openapi`).
@Suite struct OpenAPITests {
    /// "METHOD /path" with path parameters written the same way on both sides:
    /// `{event}` in the document, `**` or `:name` in the router, become `{}`.
    static func normalized(_ method: String, _ path: String) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map { component in
            component.hasPrefix("{") || component.hasPrefix(":") || component == "**" || component == "*" ? "{}" : String(component)
        }
        return method.uppercased() + " " + components.joined(separator: "/")
    }

    static func documentedOperations() throws -> Set<String> {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(WebAssets.openapi_json.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        return Set(paths.flatMap { path, item in item.keys.filter(methods.contains).map { normalized($0, path) } })
    }

    @Test func theDocumentDescribesEveryRouteAndNoOther() async throws {
        try await ScratchHub.with("openapi") { scratch in
            // With every optional route on: the console (the default) and --static.
            var configuration = ServerConfiguration()
            configuration.staticDirectory = scratch.directory
            let router = BrokerServer.makeRouter(
                store: SegmentStore(scratch.log), configuration: configuration, metrics: scratch.metrics, hub: scratch.hub)
            let routes = Set(router.routes.map { Self.normalized($0.method.rawValue, $0.path.description) })
            let documented = try Self.documentedOperations()
            #expect(routes.subtracting(documented).isEmpty, "routes the document does not describe: \(routes.subtracting(documented).sorted())")
            #expect(documented.subtracting(routes).isEmpty, "described but not routed: \(documented.subtracting(routes).sorted())")
            #expect(routes.count >= 8)
        }
    }

    @Test func theServerServesTheDocument() async throws {
        try await RouterHarness.with { server in
            let response = try await server.request(.GET, "/openapi.json")
            #expect(response.status == 200)
            #expect(response.body == WebAssets.openapi_json)
        }
    }
}
