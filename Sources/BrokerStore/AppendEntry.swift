/// An event to append: a name, its data bytes and, optionally, the seq its name's
/// latest record must have for the append to happen (optimistic concurrency).
public struct AppendEntry: Sendable {
    public var event: String
    public var data: [UInt8]
    /// Append only if the latest record of `event` has this seq (0: it has none yet).
    public var expectedSeq: UInt64?

    public init(event: String, data: [UInt8], expectedSeq: UInt64? = nil) {
        self.event = event
        self.data = data
        self.expectedSeq = expectedSeq
    }

    /// The most data bytes one record holds in any store: what a segment frame's
    /// body (at most 2^30 bytes, SPEC.md 2.3) leaves after its fixed fields, the
    /// longest name and the longest idempotency key with its digest.
    public static let maxDataBytes = (1 << 30) - 32 - EventName.maxBytes - 4 - 1 - IdempotencyKey.maxBytes - 8

    /// Checks the entry's name and size, as every store does before appending it:
    /// ``StoreError/invalidEventName(_:)`` or ``StoreError/recordTooLarge(bytes:limit:)``.
    public func check() throws(StoreError) {
        if let why = EventName.problem(with: event) { throw .invalidEventName(why) }
        if data.count > Self.maxDataBytes { throw .recordTooLarge(bytes: data.count, limit: Self.maxDataBytes) }
    }
}

/// What an append did: the batch's records, and whether they were stored by an
/// earlier request with the same idempotency key.
public struct AppendResult: Sendable {
    /// The batch's records: appended now, or by the first request with the key.
    public let records: [Record]
    /// True when the key was known with the same request: nothing was appended.
    public let replayed: Bool

    package init(records: [Record], replayed: Bool) {
        self.records = records
        self.replayed = replayed
    }
}
