import BrokerStore

/// The bytes of a checkpoint file (SPEC.md 2.6): the latest index and the segment
/// table as of a covered prefix of the log. Encoding and decoding only, no I/O.
struct Checkpoint {
    static let magic: [UInt8] = Array("BROKERCK".utf8)
    /// Version 2 adds the idempotency keys after the name entries; version 1 is read
    /// as a checkpoint with no keys.
    static let version: UInt16 = 2
    static let headerSize = 32

    /// One covered segment.
    struct SegmentEntry: Equatable {
        var baseSeq: UInt64
        /// `baseSeq - 1` when the segment holds no record.
        var lastSeq: UInt64
        /// The segment's bytes the checkpoint covers, header included.
        var coveredBytes: Int
        /// Where the last covered frame starts, and its CRC field (0 and 0 when empty).
        var lastFrameOffset: UInt32
        var lastFrameCRC: UInt32
        var offsets: SparseOffsetIndex

        var isEmpty: Bool { lastSeq < baseSeq }
    }

    var lastTimestamp: Int64
    var segments: [SegmentEntry]
    var latest: LatestIndex
    /// The idempotency keys of the covered records, oldest first (version 2).
    var keys = IdempotencyTable(windowMs: .max, capacity: .max)

    /// The file's bytes, CRC last.
    func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerSize + segments.count * 48 + latest.count * 24 + latest.memoryBytes / 2)
        bytes.appendLE(Self.version)
        bytes.appendLE(UInt16(0))
        bytes.appendLE(UInt32(segments.count))
        bytes.appendLE(UInt64(latest.count))
        bytes.appendLE(lastTimestamp)
        for segment in segments {
            bytes.appendLE(segment.baseSeq)
            bytes.appendLE(segment.lastSeq)
            bytes.appendLE(UInt64(segment.coveredBytes))
            bytes.appendLE(segment.lastFrameOffset)
            bytes.appendLE(segment.lastFrameCRC)
            bytes.appendLE(UInt32(segment.offsets.count))
            segment.offsets.forEach { seq, offset in
                bytes.appendLE(seq)
                bytes.appendLE(offset)
            }
        }
        latest.forEachName { name, location in
            bytes.appendLE(UInt16(name.count))
            bytes.append(contentsOf: name)
            bytes.appendLE(location.seq)
            bytes.appendLE(location.offset)
        }
        bytes.appendLE(UInt64(keys.count))
        keys.forEach { key in
            bytes.appendLE(key.keyDigest.0)
            bytes.appendLE(key.keyDigest.1)
            bytes.appendLE(key.requestDigest)
            bytes.appendLE(key.firstSeq)
            bytes.appendLE(key.count)
            bytes.appendLE(key.timestamp)
        }
        bytes.appendLE(CRC32C.checksum(bytes))
        return bytes
    }

    /// Decodes and checks a checkpoint file's bytes.
    static func decode(_ bytes: [UInt8]) throws(CheckpointProblem) -> Checkpoint {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(CheckpointProblem) in try decode(raw) }
        }.get()
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(CheckpointProblem) -> Checkpoint {
        guard bytes.count >= headerSize + 4 else { throw CheckpointProblem("\(bytes.count) bytes is shorter than a checkpoint") }
        let body = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])
        let stored = bytes.loadLE(UInt32.self, at: bytes.count - 4)
        let computed = CRC32C.checksum(body)
        guard stored == computed else { throw CheckpointProblem("CRC mismatch (stored \(hex(stored)), computed \(hex(computed)))") }
        var cursor = ByteCursor(body)
        guard try cursor.take(count: 8).elementsEqual(magic) else { throw CheckpointProblem("bad magic") }
        let version = try cursor.take(UInt16.self)
        guard version == 1 || version == Self.version else { throw CheckpointProblem("unsupported version \(version)") }
        _ = try cursor.take(UInt16.self)
        let segmentCount = Int(try cursor.take(UInt32.self))
        let nameCount = try cursor.take(UInt64.self)
        let lastTimestamp = try cursor.take(Int64.self)
        var segments: [SegmentEntry] = []
        for _ in 0..<segmentCount { segments.append(try decodeSegment(&cursor)) }
        guard nameCount <= UInt64(body.count) else { throw CheckpointProblem("name count \(nameCount) exceeds the file") }
        var latest = LatestIndex(minimumCapacity: Int(nameCount))
        for _ in 0..<nameCount {
            let length = Int(try cursor.take(UInt16.self))
            guard length >= 1, length <= EventName.maxBytes else { throw CheckpointProblem("name length \(length) at byte \(cursor.offset - 2)") }
            let name = try cursor.take(count: length)
            // The same check as a frame's name (2.3 rule 3): no record can hold another.
            if let why = EventName.problem(withUTF8: name) { throw CheckpointProblem("name entry at byte \(cursor.offset - length): \(why)") }
            let location = RecordLocation(seq: try cursor.take(UInt64.self), offset: try cursor.take(UInt32.self))
            guard location.seq >= 1, location.seq <= RecordFrame.maxSeq, location.offset >= SegmentHeader.size,
                latest.update(bytes: name, to: location) == nil
            else {
                throw CheckpointProblem("bad or repeated name entry ending at byte \(cursor.offset)")
            }
        }
        var keys = IdempotencyTable(windowMs: .max, capacity: .max)
        if version >= 2 { try decodeKeys(&cursor, into: &keys, lastSeq: segments.last?.lastSeq ?? 0) }
        guard cursor.offset == body.count else { throw CheckpointProblem("\(body.count - cursor.offset) bytes after the last entry") }
        return Checkpoint(lastTimestamp: lastTimestamp, segments: segments, latest: latest, keys: keys)
    }

    /// The key entries: each names covered records, in the order they were made, once.
    private static func decodeKeys(_ cursor: inout ByteCursor, into keys: inout IdempotencyTable, lastSeq: UInt64) throws(CheckpointProblem) {
        let count = try cursor.take(UInt64.self)
        guard count <= UInt64(cursor.remaining / 44) else { throw CheckpointProblem("key count \(count) exceeds the file") }
        var previous: (seq: UInt64, timestamp: Int64) = (0, .min)
        for _ in 0..<count {
            let keyDigest = (try cursor.take(UInt64.self), try cursor.take(UInt64.self))
            let requestDigest = try cursor.take(UInt64.self)
            let firstSeq = try cursor.take(UInt64.self)
            let records = try cursor.take(UInt32.self)
            let timestamp = try cursor.take(Int64.self)
            let last = firstSeq &+ UInt64(records) &- 1
            guard records >= 1, firstSeq > previous.seq, last >= firstSeq, last <= lastSeq, timestamp >= previous.timestamp else {
                throw CheckpointProblem("bad idempotency key entry ending at byte \(cursor.offset)")
            }
            keys.insert(
                IdempotencyTable.Entry(keyDigest: keyDigest, requestDigest: requestDigest, firstSeq: firstSeq, timestamp: timestamp, count: records))
            previous = (last, timestamp)
        }
        guard keys.count == Int(count) else { throw CheckpointProblem("an idempotency key is listed twice") }
    }

    private static func decodeSegment(_ cursor: inout ByteCursor) throws(CheckpointProblem) -> SegmentEntry {
        let baseSeq = try cursor.take(UInt64.self)
        let lastSeq = try cursor.take(UInt64.self)
        let coveredBytes = try cursor.take(UInt64.self)
        let lastFrameOffset = try cursor.take(UInt32.self)
        let lastFrameCRC = try cursor.take(UInt32.self)
        let sparseCount = Int(try cursor.take(UInt32.self))
        guard baseSeq >= 1, baseSeq <= RecordFrame.maxSeq, lastSeq >= baseSeq - 1, lastSeq <= RecordFrame.maxSeq,
            coveredBytes >= UInt64(SegmentHeader.size), coveredBytes < 1 << 40, sparseCount <= (cursor.remaining / 12)
        else { throw CheckpointProblem("bad segment entry for base seq \(baseSeq)") }
        var offsets = SparseOffsetIndex()
        for _ in 0..<sparseCount {
            let seq = try cursor.take(UInt64.self)
            let offset = Int(try cursor.take(UInt32.self))
            // An entry must name a covered frame, or a read would start outside the segment.
            guard seq >= baseSeq, seq <= lastSeq, offset >= SegmentHeader.size, offset < coveredBytes else {
                throw CheckpointProblem("sparse index of segment \(baseSeq) names seq \(seq) at byte offset \(offset), outside the segment")
            }
            offsets.note(seq: seq, offset: offset)
        }
        guard offsets.count == sparseCount else { throw CheckpointProblem("sparse index of segment \(baseSeq) out of order") }
        return SegmentEntry(
            baseSeq: baseSeq, lastSeq: lastSeq, coveredBytes: Int(coveredBytes),
            lastFrameOffset: lastFrameOffset, lastFrameCRC: lastFrameCRC, offsets: offsets)
    }

    private static func hex(_ value: UInt32) -> String { "0x" + Hex.string(value) }
}

/// Why a checkpoint file cannot be used.
struct CheckpointProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reads little-endian fields front to back, failing past the end.
private struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func take<T: FixedWidthInteger>(_: T.Type) throws(CheckpointProblem) -> T {
        let value = bytes.loadLE(T.self, at: try advance(MemoryLayout<T>.size))
        return value
    }

    mutating func take(count: Int) throws(CheckpointProblem) -> UnsafeRawBufferPointer {
        let start = try advance(count)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)])
    }

    private mutating func advance(_ count: Int) throws(CheckpointProblem) -> Int {
        guard count <= remaining else { throw CheckpointProblem("ends early, at byte \(bytes.count)") }
        defer { offset += count }
        return offset
    }
}
