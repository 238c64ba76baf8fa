/// Why a front could not start (SPEC.md 7.3): what `broker serve --nats` exits with.
public enum JetStreamError: Error, Equatable, Sendable, CustomStringConvertible {
    /// NATS, the stream or the index build did not answer within the wait, or
    /// JetStream refused what waiting cannot change (exit 69).
    case unavailable(String)
    /// The stream exists with settings Broker cannot use (exit 64).
    case streamMismatch(String)

    public var description: String {
        switch self {
        case .unavailable(let why): why
        case .streamMismatch(let why): why
        }
    }
}
