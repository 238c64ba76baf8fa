/// One stored insert: what every store keeps and every reader gets back (SPEC.md 1).
public struct Record: Sendable, Hashable {
    /// Strictly increasing from 1, never reused.
    public let seq: UInt64
    /// Milliseconds since the Unix epoch, assigned at append; never decreasing in seq order.
    public let timestamp: Int64
    /// The event name.
    public let event: String
    /// The data bytes exactly as appended (the server stores compact JSON).
    public let data: [UInt8]

    public init(seq: UInt64, timestamp: Int64, event: String, data: [UInt8]) {
        self.seq = seq
        self.timestamp = timestamp
        self.event = event
        self.data = data
    }
}
