import BrokerAuth
import BrokerJSON
import HTTPTypes
import Hummingbird

/// Who may do what on this server (SPEC.md 4.11): finds the request's token, turns it
/// into a ``Grant`` and refuses what the grant does not cover, with 401 when no token
/// backs the request and 403 when one does.
struct AccessPolicy: Sendable {
    /// The server's configuration; nil: access control is off and every request may
    /// do everything.
    let control: AccessControl?

    /// The request's grant. A token that is present but invalid is a 401, even where
    /// no token is needed, so a client learns that it must fetch a new one.
    func grant(for request: Request) async throws(APIError) -> Grant {
        guard let control else { return .everything }
        guard let token = Self.token(in: request, cookieName: control.cookieName) else {
            return .anonymous(publicSubscribe: control.publicSubscribe)
        }
        do {
            var grant = try await control.verifier.verify(token)
            grant.subscribe = grant.subscribe.union(control.publicSubscribe)
            return grant
        } catch {
            throw Self.invalidToken(error.description)
        }
    }

    /// Refused unless the grant may publish something: checked before the body is read.
    func requireAnyPublish(_ grant: Grant) throws(APIError) {
        if grant.publish.isEmpty { throw refusal(grant, "may not publish any event") }
    }

    func requirePublish(_ name: String, _ grant: Grant) throws(APIError) {
        if !grant.publish.allows(name) { throw refusal(grant, "may not publish \(JSONWriter.quoted(name))") }
    }

    func requireAnySubscribe(_ grant: Grant) throws(APIError) {
        if grant.subscribe.isEmpty { throw refusal(grant, "may not read any event") }
    }

    func requireSubscribe(_ name: String, _ grant: Grant) throws(APIError) {
        if !grant.subscribe.allows(name) { throw refusal(grant, "may not read \(JSONWriter.quoted(name))") }
    }

    func requireAdmin(_ grant: Grant) throws(APIError) {
        if !grant.admin { throw refusal(grant, "may not read the metrics (needs \"admin\": true)") }
    }

    /// 401 asking for a token when the request had none, 403 when its token falls short.
    private func refusal(_ grant: Grant, _ what: String) -> APIError {
        if grant.hasToken {
            return APIError(.forbidden, "this token \(what)", headers: [.wwwAuthenticate: #"Bearer realm="broker", error="insufficient_scope""#])
        }
        return APIError(.unauthorized, "a token is required: without one a request \(what)", headers: [.wwwAuthenticate: #"Bearer realm="broker""#])
    }

    private static func invalidToken(_ reason: String) -> APIError {
        let description = reason.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }
        let challenge = #"Bearer realm="broker", error="invalid_token", error_description=""# + String(String.UnicodeScalarView(description)) + "\""
        return APIError(.unauthorized, "invalid token: \(reason)", headers: [.wwwAuthenticate: challenge])
    }

    /// The token from `Authorization: Bearer`, else the cookie, else `access_token`.
    static func token(in request: Request, cookieName: String) -> String? {
        // One pass over the fields: HTTPFields' subscript by name joins every value
        // of the name into a new string, which was most of this function's cost.
        for field in request.headers where field.name == .authorization {
            if let token = bearerToken(field.value) { return token }
        }
        for field in request.headers where field.name == .cookie {
            if let token = cookie(named: cookieName, in: field.value) { return token }
        }
        return request.uri.queryParameters["access_token"].map(String.init)
    }

    /// `Bearer <token>`, the scheme compared without case; nil for other schemes.
    /// Runs on every request: it compares bytes and allocates only the token.
    static func bearerToken(_ authorization: String) -> String? {
        let utf8 = authorization.utf8
        guard utf8.count > bearerScheme.count,
            zip(utf8, bearerScheme).allSatisfy({ byte, expected in byte | 0x20 == expected }),
            utf8[utf8.index(utf8.startIndex, offsetBy: bearerScheme.count)] == UInt8(ascii: " ")
        else { return nil }
        let token = utf8.dropFirst(bearerScheme.count + 1).drop { $0 == UInt8(ascii: " ") }
        return token.isEmpty ? nil : String(Substring(token))
    }

    private static let bearerScheme = Array("bearer".utf8)

    /// The value of cookie `name` in one `Cookie` header (`a=1; b=2`).
    static func cookie(named name: String, in header: String) -> String? {
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
            var value = trimmed[trimmed.index(after: equals)...]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return String(value)
        }
        return nil
    }
}
