public import Foundation

/// What one request may do: the scopes of its token, or of no token at all.
public struct Grant: Sendable, Equatable {
    /// Names the request may insert.
    public var publish: Scope
    /// Names the request may read (snapshot, live, resume, audit).
    public var subscribe: Scope
    /// Whether it may read `/metrics`.
    public var admin: Bool
    /// When the token stops being valid (its `exp` plus the leeway); nil when no token
    /// backs the grant or access control is off.
    public var validUntil: Date?
    /// Whether a verified token backs the grant: a refusal is then 403, not 401.
    public var hasToken: Bool

    public init(publish: Scope, subscribe: Scope, admin: Bool, validUntil: Date?, hasToken: Bool) {
        self.publish = publish
        self.subscribe = subscribe
        self.admin = admin
        self.validUntil = validUntil
        self.hasToken = hasToken
    }

    /// Access control off: everything, for ever.
    public static let everything = Grant(publish: .everything, subscribe: .everything, admin: true, validUntil: nil, hasToken: false)

    /// No token: only what is public.
    public static func anonymous(publicSubscribe: Scope) -> Grant {
        Grant(publish: .nothing, subscribe: publicSubscribe, admin: false, validUntil: nil, hasToken: false)
    }
}
