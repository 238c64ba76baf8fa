import BrokerJSON
import BrokerStore
import HTTPTypes
import Hummingbird
import NIOCore

/// Turns every error from the routes, and Hummingbird's own (no such route, body too
/// large), into a JSON error response; records request latency. A path that is routed
/// for other methods answers 405 with `Allow` rather than 404.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: BrokerMetrics
    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response =
                error.body.map { JSONResponse.make(error.status, $0, headers: error.headers) }
                ?? JSONResponse.error(error.status, error.reason, headers: error.headers)
        } catch let error as any HTTPResponseError {
            response = answer(error.status, request)
        } catch {
            response = JSONResponse.error(.internalServerError, "internal error: \(error)")
        }
        switch response.status {
        case .unauthorized: metrics.unauthorized.increment()
        case .forbidden: metrics.forbidden.increment()
        default: break
        }
        let route = context.endpointPath ?? "unmatched"
        let elapsed = (ContinuousClock.now - started).components
        metrics.requestDuration(method: request.method.rawValue, route: route, status: response.status.code)
            .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        return response
    }

    /// Hummingbird's own error: a 404 for a path routed for other methods is a 405.
    private func answer(_ status: HTTPResponse.Status, _ request: Request) -> Response {
        if status == .notFound, let allowed = routes.methods(otherThan: request.method.rawValue, on: request.uri.path) {
            return JSONResponse.error(
                .methodNotAllowed, Self.reason(for: .methodNotAllowed, request: request), headers: [.allow: allowed.joined(separator: ", ")])
        }
        return JSONResponse.error(status, Self.reason(for: status, request: request))
    }

    private static func reason(for status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        case .notFound: "no route for \(request.method.rawValue) \(request.uri.path)"
        case .contentTooLarge: "request body is too large"
        case .methodNotAllowed: "\(request.method.rawValue) is not allowed on \(request.uri.path)"
        default: status.reasonPhrase
        }
    }
}

/// The methods each routed path answers, for the 405's `Allow`: filled once the router
/// has every route (``BrokerServer/makeRouter``).
final class RouteMethods: Sendable {
    private struct Entry {
        let components: [Substring]
        let methods: [String]
    }
    private let table = Locked<[Entry]>([])

    func record(_ routes: [(path: String, method: String)]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method) }
        table.withLock { table in
            table = byPath.map { path, methods in Entry(components: path.split(separator: "/"), methods: methods.sorted()) }
        }
    }

    /// The methods routed for `path` when it is routed but not for `method` (a 405
    /// rather than a 404); nil otherwise.
    func methods(otherThan method: String, on path: String) -> [String]? {
        let components = path.split(separator: "/")
        let allowed = table.withLock { table in
            table.filter { Self.matches($0.components, components) }.flatMap(\.methods).sorted()
        }
        return allowed.isEmpty || allowed.contains(method) ? nil : allowed
    }

    /// `**` matches one or more components, `*` and `:name` one.
    private static func matches(_ pattern: [Substring], _ components: [Substring]) -> Bool {
        for (index, part) in pattern.enumerated() {
            if part == "**" { return components.count > index }
            guard index < components.count, part == "*" || part.hasPrefix(":") || part == components[index] else { return false }
        }
        return pattern.count == components.count
    }
}
