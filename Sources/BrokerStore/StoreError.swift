/// What an ``EventStore`` call can fail with: the failures a client meets (SPEC.md 4.2
/// maps each to an HTTP status). A store keeps its engine's own errors (a damaged
/// segment, a NATS timeout) and reports them here as ``unavailable(_:)``.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidEventName(String)
    case recordTooLarge(bytes: Int, limit: Int)
    /// Entries of a batch whose `expectedSeq` is not their name's latest seq; nothing was appended.
    case seqConflict([SeqConflict])
    /// The idempotency key was used, within the window, for another request (its records start at `firstSeq`).
    case idempotencyKeyReused(key: String, firstSeq: UInt64)
    /// The idempotency table holds `capacity` keys, none older than the window; keyed
    /// appends are refused until the oldest expires, in `retryAfterMs`.
    case idempotencyKeysFull(capacity: Int, retryAfterMs: Int64)
    /// The store cannot answer now (closed, a failed fsync, the replicated log out of
    /// reach or behind): nothing is known to be stored unless the reason says so.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidEventName(let why): why
        case .recordTooLarge(let bytes, let limit): "record of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .seqConflict(let conflicts): conflicts.map(\.description).joined(separator: "; ")
        case .idempotencyKeyReused(let key, let firstSeq):
            "idempotency key \(key) was used for another request (stored at seq \(firstSeq))"
        case .idempotencyKeysFull(let capacity, let retry):
            "the idempotency table is full (\(capacity) keys within the window); retry in \(retry) ms"
        case .unavailable(let why): why
        }
    }
}

/// One entry of a batch whose expected seq did not hold (SPEC.md 3.1).
public struct SeqConflict: Sendable, Equatable, CustomStringConvertible {
    /// The entry's position in its batch, from 0.
    public let index: Int
    public let event: String
    public let expectedSeq: UInt64
    /// The seq of the name's latest record, 0 when it has none.
    public let currentSeq: UInt64

    public init(index: Int, event: String, expectedSeq: UInt64, currentSeq: UInt64) {
        self.index = index
        self.event = event
        self.expectedSeq = expectedSeq
        self.currentSeq = currentSeq
    }

    public var description: String {
        "entry \(index): the latest record of \(event) is seq \(currentSeq), not the expected \(expectedSeq)"
    }
}
