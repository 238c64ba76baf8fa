public import BrokerStore
import Glibc

/// Everything the log reports as failure: the module's one error type. It lives with
/// Storage, the lowest layer that fails, so that errors stay typed from a failed
/// system call up to the HTTP answer.
public enum LogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed on `path`.
    case io(path: String, operation: String, errno: Int32)
    /// Another process holds the directory's writer lock.
    case locked(path: String)
    /// A segment is damaged: the file, the byte offset of the bad header or frame, and why.
    case corrupt(segment: String, offset: Int, problem: FrameProblem)
    /// Segments do not continue one another (a missing or misnamed segment).
    case discontinuity(segment: String, expectedBaseSeq: UInt64, foundBaseSeq: UInt64)
    /// The path is not a Broker data directory or segment file.
    case notALog(path: String, reason: String)
    case invalidEventName(String)
    case recordTooLarge(bytes: Int, limit: Int)
    case invalidOptions(String)
    /// The log was closed, or stopped accepting appends after a failed fsync.
    case closed(reason: String)
    /// Entries of a batch whose `expectedSeq` is not their name's latest seq; nothing was appended.
    case seqConflict([SeqConflict])
    /// The idempotency key was used, within the window, for another request (its records start at `firstSeq`).
    case idempotencyKeyReused(key: String, firstSeq: UInt64)
    /// The idempotency table holds `capacity` keys, none older than the window; keyed
    /// appends are refused until the oldest expires, in `retryAfterMs`.
    case idempotencyKeysFull(capacity: Int, retryAfterMs: Int64)

    /// The error that stops whatever found `damage`: a gap between segments is a
    /// discontinuity, anything else corruption.
    public init(_ damage: Damage) {
        if case .segmentGap(let expected, let found) = damage.problem {
            self = .discontinuity(segment: damage.segment, expectedBaseSeq: expected, foundBaseSeq: found)
        } else {
            self = .corrupt(segment: damage.segment, offset: damage.offset, problem: damage.problem)
        }
    }

    public var description: String {
        switch self {
        case .io(let path, let operation, let code):
            "\(operation) failed on \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .locked(let path):
            "\(path) is locked by another writer (a running broker serve?)"
        case .corrupt(let segment, let offset, let problem):
            Damage(segment: segment, offset: offset, problem: problem).description
        case .discontinuity(let segment, let expected, let found):
            Damage(segment: segment, offset: 0, problem: .segmentGap(expectedBaseSeq: expected, foundBaseSeq: found)).description
        case .notALog(let path, let reason):
            "\(path): \(reason)"
        case .invalidEventName(let why):
            why
        case .recordTooLarge(let bytes, let limit):
            "record of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .invalidOptions(let why):
            "invalid options: \(why)"
        case .closed(let reason):
            "the log is closed: \(reason)"
        case .seqConflict(let conflicts):
            conflicts.map(\.description).joined(separator: "; ")
        case .idempotencyKeyReused(let key, let firstSeq):
            "idempotency key \(key) was used for another request (stored at seq \(firstSeq))"
        case .idempotencyKeysFull(let capacity, let retry):
            "the idempotency table is full (\(capacity) keys within the window); retry in \(retry) ms"
        }
    }
}
