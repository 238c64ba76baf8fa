public import Foundation
import JWTKit
import NIOConcurrencyHelpers

/// Turns a request's token into a ``Grant`` (SPEC.md 4.11): signature by the
/// configured keys, times with a leeway, issuer and audience, then the `broker` claim.
public final class TokenVerifier: Sendable {
    public struct Options: Sendable {
        /// Clock skew allowed on `exp`, `nbf` and `iat`.
        public var leeway: Duration = .seconds(30)
        /// When set, `iss` must equal it.
        public var issuer: String?
        /// When set, `aud` must contain it.
        public var audience: String?

        public init(leeway: Duration = .seconds(30), issuer: String? = nil, audience: String? = nil) {
            self.leeway = leeway
            self.issuer = issuer
            self.audience = audience
        }
    }

    /// The longest token accepted, in bytes.
    public static let maxTokenBytes = 8192
    /// Verified tokens remembered; when full, the cache starts again empty.
    static let cacheLimit = 10_000

    /// What a verified token allows, before its times are checked against the clock.
    struct Verified: Sendable {
        let publish: Scope
        let subscribe: Scope
        let admin: Bool
        let expires: Date
        let notBefore: Date?
        let issuedAt: Date?
    }

    private let keys: TokenKeys
    private let options: Options
    private let now: @Sendable () -> Date
    private let leewaySeconds: TimeInterval
    private let cache = NIOLockedValueBox<[String: Verified]>([:])

    /// `now` is the clock the times are checked against (tests move it).
    public init(keys: TokenKeys, options: Options = Options(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.keys = keys
        self.options = options
        self.now = now
        let leeway = options.leeway.components
        self.leewaySeconds = TimeInterval(leeway.seconds) + TimeInterval(leeway.attoseconds) / 1e18
    }

    /// The grant of `token`, or why it is refused. Public patterns are not added here.
    public func verify(_ token: String) async throws(AuthError) -> Grant {
        let verified: Verified
        if let cached = cache.withLockedValue({ $0[token] }) {
            verified = cached
        } else {
            verified = try await verifySignatureAndClaims(token)
            cache.withLockedValue { cache in
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[token] = verified
            }
        }
        return try grant(verified)
    }

    /// Checks the times against the clock and builds the grant.
    private func grant(_ verified: Verified) throws(AuthError) -> Grant {
        let now = self.now()
        let validUntil = verified.expires.addingTimeInterval(leewaySeconds)
        if now >= validUntil { throw .invalidToken("the token expired at \(Self.text(verified.expires))") }
        if let notBefore = verified.notBefore, now < notBefore.addingTimeInterval(-leewaySeconds) {
            throw .invalidToken("the token is not valid before \(Self.text(notBefore))")
        }
        if let issuedAt = verified.issuedAt, now < issuedAt.addingTimeInterval(-leewaySeconds) {
            throw .invalidToken("the token was issued in the future (\(Self.text(issuedAt)))")
        }
        return Grant(publish: verified.publish, subscribe: verified.subscribe, admin: verified.admin, validUntil: validUntil, hasToken: true)
    }

    private func verifySignatureAndClaims(_ token: String) async throws(AuthError) -> Verified {
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maxTokenBytes else {
            throw .invalidToken("the token is \(bytes.count) bytes, more than \(Self.maxTokenBytes)")
        }
        let algorithm: String
        do {
            let header = try DefaultJWTParser().parse(bytes, as: NoClaims.self).header
            guard let alg = header.alg else { throw AuthError.invalidToken("the token's header has no alg") }
            algorithm = alg
        } catch let error as AuthError {
            throw error
        } catch {
            throw .invalidToken("the token is not a well-formed JWT")
        }
        guard let collection = keys.byAlgorithm[algorithm] else {
            throw .invalidToken(
                "algorithm \(Self.quoted(algorithm)) is not accepted; this server's keys verify \(keys.algorithms.joined(separator: ", "))")
        }
        let claims: BrokerClaims
        do {
            claims = try await collection.verify(bytes, as: BrokerClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .invalidToken("the token's signature does not verify")
        } catch {
            throw .invalidToken("the token's claims are not valid (exp is required; broker must be {publish, subscribe, admin})")
        }
        try checkIssuerAndAudience(claims)
        let permissions = claims.broker ?? BrokerClaims.Permissions()
        do {
            return Verified(
                publish: try Scope(parsing: permissions.publish ?? []),
                subscribe: try Scope(parsing: permissions.subscribe ?? []),
                admin: permissions.admin ?? false,
                expires: claims.exp.value, notBefore: claims.nbf?.value, issuedAt: claims.iat?.value)
        } catch {
            throw .invalidToken("the token's broker claim has an invalid pattern: \(error)")
        }
    }

    private func checkIssuerAndAudience(_ claims: BrokerClaims) throws(AuthError) {
        if let issuer = options.issuer, claims.iss?.value != issuer {
            throw .invalidToken("the token's issuer is not \(Self.quoted(issuer))")
        }
        if let audience = options.audience, !(claims.aud?.value.contains(audience) ?? false) {
            throw .invalidToken("the token's audience does not include \(Self.quoted(audience))")
        }
    }

    private static func text(_ date: Date) -> String {
        "\(Int64(date.timeIntervalSince1970.rounded(.down))) (seconds since 1970)"
    }

    /// A header value from the token, cut short and stripped of anything unprintable,
    /// so an error never echoes much of what the client sent.
    private static func quoted(_ text: String) -> String {
        let printable = text.unicodeScalars.prefix(32).filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" }
        return "\"" + String(String.UnicodeScalarView(printable)) + "\""
    }
}
