#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything the log reports as failure.
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

    public var description: String {
        switch self {
        case let .io(path, operation, code):
            "\(operation) failed on \(path): \(String(cString: strerror(code))) (errno \(code))"
        case let .locked(path):
            "\(path) is locked by another writer (a running broker serve?)"
        case let .corrupt(segment, offset, problem):
            "\(segment): corrupt at byte offset \(offset): \(problem)"
        case let .discontinuity(segment, expected, found):
            "\(segment): starts at seq \(found) but seq \(expected) was expected (a segment is missing or misnamed)"
        case let .notALog(path, reason):
            "\(path): \(reason)"
        case let .invalidEventName(why):
            why
        case let .recordTooLarge(bytes, limit):
            "record of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case let .invalidOptions(why):
            "invalid options: \(why)"
        case let .closed(reason):
            "the log is closed: \(reason)"
        }
    }
}
