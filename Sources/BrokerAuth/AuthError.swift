/// Why a token or a key was refused. The descriptions never contain a token.
public enum AuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request's token cannot be used: malformed, too long, refused algorithm,
    /// bad signature, outside its validity, wrong issuer or audience, bad claims.
    case invalidToken(String)
    /// A scope pattern that is empty, too long or has a control character.
    case invalidPattern(String, reason: String)
    /// A key file that cannot be read or is not a usable key.
    case invalidKey(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidToken(let reason): reason
        case .invalidPattern(_, let reason): reason
        case .invalidKey(let path, let reason): "\(path): \(reason)"
        }
    }
}
