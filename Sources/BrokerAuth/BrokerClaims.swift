public import Foundation
public import JWTKit

/// The claims Broker reads from a token (SPEC.md 4.11).
public struct BrokerClaims: JWTPayload, Equatable {
    /// The `broker` claim: what the token allows.
    public struct Permissions: Codable, Sendable, Equatable {
        public var publish: [String]?
        public var subscribe: [String]?
        public var admin: Bool?

        public init(publish: [String]? = nil, subscribe: [String]? = nil, admin: Bool? = nil) {
            self.publish = publish
            self.subscribe = subscribe
            self.admin = admin
        }
    }

    public var broker: Permissions?
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim?
    public var iat: IssuedAtClaim?
    public var iss: IssuerClaim?
    public var aud: AudienceClaim?
    public var sub: SubjectClaim?

    public init(
        broker: Permissions?, expires: Date, notBefore: Date? = nil, issuedAt: Date? = nil,
        issuer: String? = nil, audience: String? = nil, subject: String? = nil
    ) {
        self.broker = broker
        self.exp = ExpirationClaim(value: expires)
        self.nbf = notBefore.map { NotBeforeClaim(value: $0) }
        self.iat = issuedAt.map { IssuedAtClaim(value: $0) }
        self.iss = issuer.map { IssuerClaim(value: $0) }
        self.aud = audience.map { AudienceClaim(value: [$0]) }
        self.sub = subject.map { SubjectClaim(value: $0) }
    }

    /// Nothing here: ``TokenVerifier`` checks the times with its own clock and leeway,
    /// and the issuer and audience against the server's options.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Decodes no claim: reading a token's header without trusting its payload.
struct NoClaims: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
