/// The latest record of every event name: the one in-memory structure that grows
/// with the number of names (SPEC.md 3.5). An open-addressing table of 16-byte slots
/// (linear probing, at most 3/4 full) whose names live back to back in one byte
/// arena, so a name costs its bytes plus about 20 to 45 bytes, and lookups hash the
/// name's bytes straight from a frame without making a String.
package struct LatestIndex {
    /// seq 0 marks an empty slot (seqs start at 1).
    private struct Slot {
        var seq: UInt64 = 0
        var offset: UInt32 = 0
        /// Where the name starts in `arena`: a 2-byte length, then the bytes.
        var name: UInt32 = 0
    }

    private var slots: [Slot]
    private var arena: [UInt8] = []
    private(set) var count = 0

    /// An empty index with room for `minimumCapacity` names before it grows.
    init(minimumCapacity: Int = 0) {
        var size = 16
        while size * 3 < minimumCapacity * 4 { size *= 2 }
        slots = [Slot](repeating: Slot(), count: size)
    }

    // MARK: Lookups and updates

    subscript(name: String) -> RecordLocation? {
        var name = name
        return name.withUTF8 { self[bytes: UnsafeRawBufferPointer($0)] }
    }

    subscript(bytes name: UnsafeRawBufferPointer) -> RecordLocation? {
        guard case .found(let index) = find(name) else { return nil }
        return RecordLocation(seq: slots[index].seq, offset: slots[index].offset)
    }

    /// Sets `name`'s latest record and returns the one it replaces.
    @discardableResult
    mutating func update(_ name: String, to location: RecordLocation) -> RecordLocation? {
        var name = name
        return name.withUTF8 { update(bytes: UnsafeRawBufferPointer($0), to: location) }
    }

    @discardableResult
    mutating func update(bytes name: UnsafeRawBufferPointer, to location: RecordLocation) -> RecordLocation? {
        switch find(name) {
        case .found(let index):
            let previous = RecordLocation(seq: slots[index].seq, offset: slots[index].offset)
            slots[index].seq = location.seq
            slots[index].offset = location.offset
            return previous
        case .empty(let index):
            slots[index] = Slot(seq: location.seq, offset: location.offset, name: store(name))
            count += 1
            if count * 4 > slots.count * 3 { grow() }
            return nil
        }
    }

    /// Puts back what an undone append replaced (nil: the name was new, remove it).
    mutating func restore(_ name: String, to location: RecordLocation?) {
        if let location {
            update(name, to: location)
            return
        }
        var name = name
        name.withUTF8 { bytes in
            if case .found(let index) = find(UnsafeRawBufferPointer(bytes)) { remove(at: index) }
        }
    }

    /// Every name and its latest location, in no particular order.
    func forEach<Failure: Error>(_ body: (String, RecordLocation) throws(Failure) -> Void) throws(Failure) {
        for slot in slots where slot.seq != 0 {
            let name = arena.withUnsafeBytes { String(decoding: nameBytes(slot.name, in: $0), as: UTF8.self) }
            try body(name, RecordLocation(seq: slot.seq, offset: slot.offset))
        }
    }

    /// Every name's bytes and latest location, in no particular order.
    func forEachName(_ body: (UnsafeRawBufferPointer, RecordLocation) -> Void) {
        arena.withUnsafeBytes { arena in
            for slot in slots where slot.seq != 0 {
                body(nameBytes(slot.name, in: arena), RecordLocation(seq: slot.seq, offset: slot.offset))
            }
        }
    }

    /// How `other` differs from this index (the first difference found), or nil when
    /// both hold the same names at the same locations.
    func difference(from other: LatestIndex) -> String? {
        if count != other.count { return "\(other.count) names where \(count) were expected" }
        var found: String?
        other.forEachName { name, location in
            guard found == nil, self[bytes: name] != location else { return }
            let expected = self[bytes: name].map { "seq \($0.seq) at byte offset \($0.offset)" } ?? "none"
            found = "\(String(decoding: name, as: UTF8.self)): seq \(location.seq) at byte offset \(location.offset) where \(expected) was expected"
        }
        return found
    }

    /// Bytes the index holds: its slots and its name arena.
    var memoryBytes: Int { slots.capacity * MemoryLayout<Slot>.stride + arena.capacity }

    // MARK: The table

    private enum Probe {
        case found(Int)
        case empty(Int)
    }

    private func find(_ name: UnsafeRawBufferPointer) -> Probe {
        let mask = slots.count - 1
        var index = Int(Self.hash(name)) & mask
        return arena.withUnsafeBytes { arena in
            while true {
                let slot = slots[index]
                if slot.seq == 0 { return .empty(index) }
                if nameBytes(slot.name, in: arena).elementsEqual(name) { return .found(index) }
                index = (index + 1) & mask
            }
        }
    }

    private static func hash(_ name: UnsafeRawBufferPointer) -> UInt32 {
        // CRC-32C runs on the CPU's CRC instruction; multiplying spreads it over the bits.
        CRC32C.checksum(name) &* 0x9E37_79B1
    }

    private func nameBytes(_ start: UInt32, in arena: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let start = Int(start)
        let length = Int(arena.loadLE(UInt16.self, at: start))
        return UnsafeRawBufferPointer(rebasing: arena[(start + 2)..<(start + 2 + length)])
    }

    private mutating func store(_ name: UnsafeRawBufferPointer) -> UInt32 {
        precondition(arena.count + name.count + 2 <= Int(UInt32.max), "more than 4 GiB of event names")
        let start = UInt32(arena.count)
        arena.appendLE(UInt16(name.count))
        arena.append(contentsOf: name)
        return start
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        let mask = slots.count - 1
        arena.withUnsafeBytes { arena in
            for slot in old where slot.seq != 0 {
                var index = Int(Self.hash(nameBytes(slot.name, in: arena))) & mask
                while slots[index].seq != 0 { index = (index + 1) & mask }
                slots[index] = slot
            }
        }
    }

    /// Backward-shift deletion: later entries of the same probe run move up, so every
    /// lookup still finds them without tombstones. (The name's arena bytes stay.)
    private mutating func remove(at removed: Int) {
        let mask = slots.count - 1
        var hole = removed
        var index = (removed + 1) & mask
        arena.withUnsafeBytes { arena in
            while slots[index].seq != 0 {
                let home = Int(Self.hash(nameBytes(slots[index].name, in: arena))) & mask
                // Move the entry into the hole if its home is not between the hole and it.
                let distanceToEntry = (index - home) & mask
                let distanceToHole = (hole - home) & mask
                if distanceToHole <= distanceToEntry {
                    slots[hole] = slots[index]
                    hole = index
                }
                index = (index + 1) & mask
            }
        }
        slots[hole] = Slot()
        count -= 1
    }
}
