/// Where a record's frame is: its seq (which names its segment) and byte offset.
public struct RecordLocation: Sendable, Equatable {
    public var seq: UInt64
    public var offset: UInt32
}

/// The latest record of every event name: the one in-memory structure that grows
/// with the number of names (SPEC.md 3.5). Rebuilt from the segments on open.
struct LatestIndex {
    private(set) var entries: [String: RecordLocation] = [:]

    var count: Int { entries.count }

    subscript(name: String) -> RecordLocation? { entries[name] }

    /// Sets `name`'s latest record and returns the one it replaces.
    @discardableResult
    mutating func update(_ name: String, to location: RecordLocation) -> RecordLocation? {
        entries.updateValue(location, forKey: name)
    }

    /// Puts back what an undone append replaced.
    mutating func restore(_ name: String, to location: RecordLocation?) {
        entries[name] = location
    }
}
