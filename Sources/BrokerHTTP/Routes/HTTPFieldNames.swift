import HTTPTypes

/// The header fields Broker's routes read or write beyond HTTP's common ones (SPEC.md 4).
extension HTTPField.Name {
    static let allow = Self("Allow")!
    static let lastEventID = Self("Last-Event-ID")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let brokerSeq = Self("X-Broker-Seq")!
}
