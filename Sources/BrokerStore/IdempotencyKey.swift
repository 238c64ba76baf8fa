/// An idempotency key as a batch's first frame stores it (SPEC.md 2.3): 1 to 255
/// printable ASCII bytes chosen by the client, and a digest of the request it came
/// with, so that a repeat with the same key and another request can be told apart.
/// What the digest is computed over is the caller's business (the server: SPEC.md 4.2).
public struct IdempotencyKey: Sendable, Hashable, CustomStringConvertible {
    public static let maxBytes = 255

    /// The key's bytes.
    public let bytes: [UInt8]
    /// A digest of the request that carried the key.
    public let requestDigest: UInt64

    /// A key, or nil when it is not 1 to 255 bytes of printable ASCII (0x20 to 0x7E).
    public init?(_ key: String, requestDigest: UInt64) {
        let bytes = Array(key.utf8)
        guard bytes.withUnsafeBytes({ Self.problem(with: $0) }) == nil else { return nil }
        self.init(validated: bytes, requestDigest: requestDigest)
    }

    package init(validated bytes: [UInt8], requestDigest: UInt64) {
        self.bytes = bytes
        self.requestDigest = requestDigest
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Why `bytes` cannot be a key; nil when they can.
    package static func problem(with bytes: UnsafeRawBufferPointer) -> String? {
        guard !bytes.isEmpty, bytes.count <= maxBytes else { return "a key is 1 to \(maxBytes) bytes, not \(bytes.count)" }
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { return "a key is printable ASCII (0x20 to 0x7E)" }
        return nil
    }
}
