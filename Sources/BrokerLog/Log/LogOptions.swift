import BrokerStore
public import Logging

/// When an append is acknowledged and made visible (SPEC.md 3.3).
public enum Durability: Sendable, Equatable, CustomStringConvertible {
    /// After an fsync covering the record; concurrent appends share fsyncs.
    case always
    /// After `write(2)`; a background fsync runs at most every `milliseconds`.
    case interval(milliseconds: Int)
    /// After `write(2)`; the operating system flushes when it likes.
    case never

    public var description: String {
        switch self {
        case .always: "always"
        case .interval(let ms): "interval(\(ms) ms)"
        case .never: "never"
        }
    }
}

/// How a log is opened.
public struct LogOptions: Sendable {
    public static let defaultSegmentBytes = 64 << 20
    public static let segmentBytesRange = 4096...(1 << 32)

    /// LZ4-compress each record's data when that makes it smaller.
    public var compression: Bool
    public var durability: Durability
    /// A segment is sealed before it would grow past this (SPEC.md 2.4).
    public var segmentBytes: Int
    public var logger: Logger
    /// Milliseconds since the Unix epoch, for record timestamps and segment headers.
    /// Replaceable so that tests and fixtures get fixed times.
    public var clock: @Sendable () -> Int64
    /// Test hook to inject write and fsync failures; nil in production.
    package var faults: (any StorageFaults)?
    /// Open from the `CHECKPOINT` file when it is valid (SPEC.md 3.4). False reads
    /// every frame before the open returns, so any damage stops the open.
    public var useCheckpoint = true
    /// After an open from a checkpoint, read the sealed frames it skipped on a
    /// background thread (``EventLog/scrub()``).
    public var scrubAfterOpen = true
    /// How long an idempotency key is remembered, in milliseconds (default 24 h).
    public var idempotencyWindowMs: Int64 = 24 * 3600 * 1000
    /// The most idempotency keys remembered at once (about 64 bytes each, SPEC.md 3.6).
    public var idempotencyMaxKeys = 1_000_000

    public init(
        compression: Bool = true, durability: Durability = .always,
        segmentBytes: Int = LogOptions.defaultSegmentBytes,
        logger: Logger = Logger(label: "broker.log"),
        clock: @escaping @Sendable () -> Int64 = LogOptions.systemClock
    ) {
        self.compression = compression
        self.durability = durability
        self.segmentBytes = segmentBytes
        self.logger = logger
        self.clock = clock
        self.faults = nil
    }

    /// The real-time clock in milliseconds (`WallClock`).
    public static let systemClock: @Sendable () -> Int64 = WallClock.milliseconds

    func validate() throws(LogError) {
        guard Self.segmentBytesRange.contains(segmentBytes) else {
            throw .invalidOptions("segment size \(segmentBytes) is outside \(Self.segmentBytesRange)")
        }
        guard idempotencyWindowMs >= 1, idempotencyMaxKeys >= 1 else {
            throw .invalidOptions("the idempotency window and key capacity must be at least 1")
        }
        if case .interval(let ms) = durability, ms < 1 {
            throw .invalidOptions("fsync interval must be at least 1 ms")
        }
    }
}

/// How an open went: whether a checkpoint spared reading the log, and how much was read.
public struct OpenReport: Sendable, Equatable {
    /// The last seq the adopted checkpoint covered; nil when none was used.
    public var checkpointSeq: UInt64?
    /// Why a checkpoint found in the directory was not used.
    public var ignoredCheckpoint: String?
    /// Bytes of frames read and checked by the open.
    public var scannedBytes = 0

    public init() {}
}
