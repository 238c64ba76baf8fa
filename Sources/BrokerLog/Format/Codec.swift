/// How a record's data is stored in its frame.
public enum Codec: UInt8, Sendable, CustomStringConvertible {
    case raw = 0
    case lz4 = 1

    public var description: String { self == .raw ? "raw" : "lz4" }
}
