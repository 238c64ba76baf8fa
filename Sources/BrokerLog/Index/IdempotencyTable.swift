package import BrokerStore
import Crypto

/// The idempotency keys of the last window (SPEC.md 3.6): for each key, which records
/// its batch got and a digest of the request, so that a repeat is answered with the
/// original records instead of appending again. Entries are kept in the order they
/// were made, which is timestamp order, so the oldest expire from the front.
///
/// Memory: a 48-byte entry in chunks of 1,024, and a 4-byte slot per entry in an
/// open-addressing index kept between a quarter and half full: 56 to 64 bytes a key.
/// Keys themselves are not kept, only a 128-bit digest of each (SHA-256, truncated).
package struct IdempotencyTable {
    package struct Entry: Equatable {
        var keyDigest: (UInt64, UInt64)
        var requestDigest: UInt64
        var firstSeq: UInt64
        var timestamp: Int64
        var count: UInt32

        package static func == (a: Entry, b: Entry) -> Bool {
            a.keyDigest == b.keyDigest && a.requestDigest == b.requestDigest && a.firstSeq == b.firstSeq && a.timestamp == b.timestamp
                && a.count == b.count
        }
    }

    /// What a key is to the table.
    package enum Lookup: Equatable {
        case absent
        /// Seen with the same request: its records.
        case replay(firstSeq: UInt64, count: Int)
        /// Seen with another request.
        case mismatch(firstSeq: UInt64)
    }

    static let chunkSize = 1024
    private static let emptySlot = UInt32.max

    /// How long a key is remembered, in milliseconds of record time.
    package let windowMs: Int64
    /// The most keys held at once.
    package let capacity: Int

    private var chunks: [[Entry]] = []
    /// The position of `chunks[0][0]`; positions number entries from the first ever made.
    private var chunkBase: UInt64 = 0
    /// The position of the oldest live entry.
    private var oldest: UInt64 = 0
    private(set) package var count = 0
    private var slots = [UInt32](repeating: IdempotencyTable.emptySlot, count: 16)

    package init(windowMs: Int64, capacity: Int) {
        self.windowMs = windowMs
        self.capacity = min(capacity, Int(UInt32.max) - 1)
    }

    package var isFull: Bool { count >= capacity }

    package var memoryBytes: Int {
        chunks.count * Self.chunkSize * MemoryLayout<Entry>.stride + slots.count * MemoryLayout<UInt32>.stride
    }

    /// The digest a key is known by.
    package static func digest(of key: IdempotencyKey) -> (UInt64, UInt64) {
        let hash = SHA256.hash(data: key.bytes)
        return hash.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    /// The oldest entry's timestamp, when there is one.
    package var oldestTimestamp: Int64? { count == 0 ? nil : entry(at: oldest).timestamp }

    /// Drops the entries older than the window as of `now`.
    package mutating func expire(now: Int64) {
        while count > 0, entry(at: oldest).timestamp < now - windowMs { removeOldest() }
    }

    package func lookup(_ key: IdempotencyKey) -> Lookup {
        let digest = Self.digest(of: key)
        guard let position = find(digest) else { return .absent }
        let found = entry(at: position)
        return found.requestDigest == key.requestDigest
            ? .replay(firstSeq: found.firstSeq, count: Int(found.count)) : .mismatch(firstSeq: found.firstSeq)
    }

    /// Notes a batch's key; when the table is full the oldest entry makes room (the log
    /// refuses keyed appends before that happens, ``isFull``; an open that finds more
    /// keys than the capacity keeps the newest).
    package mutating func insert(_ key: IdempotencyKey, firstSeq: UInt64, count records: Int, timestamp: Int64) {
        insert(
            Entry(keyDigest: Self.digest(of: key), requestDigest: key.requestDigest, firstSeq: firstSeq, timestamp: timestamp, count: UInt32(records))
        )
    }

    package mutating func insert(_ new: Entry) {
        if let position = find(new.keyDigest) {
            // Only a checkpoint and a walk over the same batch can say a key twice.
            replace(at: position, with: new)
            return
        }
        if count >= capacity { removeOldest() }
        let position = oldest + UInt64(count)
        if chunks.isEmpty || position - chunkBase == UInt64(chunks.count * Self.chunkSize) {
            chunks.append([])
            chunks[chunks.count - 1].reserveCapacity(Self.chunkSize)
        }
        chunks[chunks.count - 1].append(new)
        count += 1
        if count * 2 > slots.count { grow() }
        var index = home(new.keyDigest)
        while slots[index] != Self.emptySlot { index = (index + 1) & (slots.count - 1) }
        slots[index] = UInt32(truncatingIfNeeded: position)
    }

    /// Every entry, oldest first.
    package func forEach(_ body: (Entry) -> Void) {
        for offset in 0..<UInt64(count) { body(entry(at: oldest + offset)) }
    }

    /// Gathers keyed batches from frames walked in order (whole batches only, as the
    /// walker hands them over): the open and `verify` rebuild keys with it.
    package struct BatchKeys {
        private var open: (key: IdempotencyKey, firstSeq: UInt64)?

        package init() {}

        /// The entry of the keyed batch `frame` ends, if it ends one.
        package mutating func note(_ frame: FrameView) -> Entry? {
            if let key = frame.key { open = (key, frame.seq) }
            guard !frame.continuesBatch, let (key, firstSeq) = open else { return nil }
            open = nil
            return Entry(
                keyDigest: IdempotencyTable.digest(of: key), requestDigest: key.requestDigest, firstSeq: firstSeq, timestamp: frame.timestamp,
                count: UInt32(frame.seq - firstSeq + 1))
        }
    }

    // MARK: Internals

    private func entry(at position: UInt64) -> Entry {
        let index = Int(position - chunkBase)
        return chunks[index / Self.chunkSize][index % Self.chunkSize]
    }

    private mutating func replace(at position: UInt64, with new: Entry) {
        let index = Int(position - chunkBase)
        chunks[index / Self.chunkSize][index % Self.chunkSize] = new
    }

    private func home(_ digest: (UInt64, UInt64)) -> Int {
        Int(truncatingIfNeeded: digest.0) & (slots.count - 1)
    }

    /// The live position a slot holds (slots keep the low 32 bits; live positions span fewer than 2^32).
    private func position(inSlot slot: UInt32) -> UInt64 {
        oldest + UInt64(slot &- UInt32(truncatingIfNeeded: oldest))
    }

    private func find(_ digest: (UInt64, UInt64)) -> UInt64? {
        var index = home(digest)
        while slots[index] != Self.emptySlot {
            let position = position(inSlot: slots[index])
            if entry(at: position).keyDigest == digest { return position }
            index = (index + 1) & (slots.count - 1)
        }
        return nil
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt32](repeating: Self.emptySlot, count: old.count * 2)
        for slot in old where slot != Self.emptySlot {
            var index = home(entry(at: position(inSlot: slot)).keyDigest)
            while slots[index] != Self.emptySlot { index = (index + 1) & (slots.count - 1) }
            slots[index] = slot
        }
    }

    private mutating func removeOldest() {
        let victim = entry(at: oldest)
        let mask = slots.count - 1
        var hole = home(victim.keyDigest)
        let wanted = UInt32(truncatingIfNeeded: oldest)
        while slots[hole] != wanted { hole = (hole + 1) & mask }
        // Backward-shift deletion, so that lookups need no tombstones.
        var index = (hole + 1) & mask
        while slots[index] != Self.emptySlot {
            let entryHome = home(entry(at: position(inSlot: slots[index])).keyDigest)
            if (hole - entryHome) & mask <= (index - entryHome) & mask {
                slots[hole] = slots[index]
                hole = index
            }
            index = (index + 1) & mask
        }
        slots[hole] = Self.emptySlot
        oldest += 1
        count -= 1
        if oldest - chunkBase == UInt64(Self.chunkSize) {
            chunks.removeFirst()
            chunkBase += UInt64(Self.chunkSize)
        }
        if count == 0, !chunks.isEmpty {
            chunks.removeAll()
            chunkBase = oldest
        }
    }
}
