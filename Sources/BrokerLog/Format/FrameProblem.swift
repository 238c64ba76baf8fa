import BrokerStore

/// What is wrong with a segment header or a record frame. Readers report it with the
/// segment and byte offset where it was found (``LogError/corrupt(segment:offset:problem:)``).
public enum FrameProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes remain than the header or frame needs (a torn write, or a write in progress).
    case short(needed: Int, available: Int)
    case badMagic
    case unsupportedVersion(UInt16)
    case badHeaderFlags(UInt16)
    case headerCRCMismatch(stored: UInt32, computed: UInt32)
    case baseSeqMismatch(header: UInt64, fileName: UInt64)
    case badBodyLength(UInt32)
    case crcMismatch(stored: UInt32, computed: UInt32)
    case badCodec(UInt8)
    case badReserved(UInt8)
    /// A version-2 frame with flag bits Broker does not know.
    case badFlags(UInt8)
    case badIdempotencyKey(String)
    /// A batch whose last frame is missing: the frames from its first to the end of the
    /// segment (or to damage) all say another frame of the batch follows.
    case incompleteBatch(firstSeq: UInt64, records: Int)
    /// A key on a frame that is not its batch's first.
    case keyInsideBatch(seq: UInt64)
    case badNameLength(Int)
    case badName(String)
    case badCompressedPayload(String)
    case seqOutOfOrder(expected: UInt64, found: UInt64)
    case badPrevSeq(seq: UInt64, prevSeq: UInt64)
    /// A link to no record (`prevSeq` 0) with a non-zero offset, or a link to an offset inside a header.
    case badPrevOffset(prevSeq: UInt64, prevOffset: UInt32)
    /// A seq (of a record or a segment's base) outside 1...2^63 − 1 (SPEC.md 1).
    case seqOutOfRange(UInt64)
    /// A file named like a segment that cannot be one (a directory; a name whose seq is out of range).
    case notASegmentFile(String)
    /// A segment that does not start where the one before it ends.
    case segmentGap(expectedBaseSeq: UInt64, foundBaseSeq: UInt64)
    /// A record stamped earlier than the record before it (`broker verify` only).
    case timestampDecreased(seq: UInt64, timestamp: Int64, previous: Int64)
    /// A record's link to the previous record of its name points elsewhere than that record.
    case brokenNameChain(seq: UInt64, expected: RecordLocation?, found: RecordLocation)

    /// True for a frame cut short by the end of the file: the only problem a reader of a
    /// live log treats as "no more records yet" rather than damage.
    public var isShort: Bool {
        if case .short = self { return true }
        return false
    }

    public var isIncompleteBatch: Bool {
        if case .incompleteBatch = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .short(let needed, let available): "incomplete: needs \(needed) bytes, \(available) remain"
        case .badMagic: "bad magic number"
        case .unsupportedVersion(let v): "unsupported format version \(v)"
        case .badHeaderFlags(let f): "unknown header flags 0x\(String(f, radix: 16))"
        case .headerCRCMismatch(let s, let c): "header CRC mismatch (stored \(hex(s)), computed \(hex(c)))"
        case .baseSeqMismatch(let h, let f): "header base seq \(h) does not match file name seq \(f)"
        case .badBodyLength(let l): "implausible frame length \(l)"
        case .crcMismatch(let s, let c): "CRC mismatch (stored \(hex(s)), computed \(hex(c)))"
        case .badCodec(let c): "unknown codec \(c)"
        case .badReserved(let r): "reserved byte is \(r), not 0"
        case .badFlags(let f): "unknown frame flags 0x\(String(f, radix: 16))"
        case .badIdempotencyKey(let why): "bad idempotency key: \(why)"
        case .incompleteBatch(let s, let n): "batch starting at seq \(s) is incomplete: \(n) record(s) with no last record"
        case .keyInsideBatch(let s): "record \(s) carries an idempotency key but is not the first of its batch"
        case .badNameLength(let n): "bad event name length \(n)"
        case .badName(let why): "bad event name: \(why)"
        case .badCompressedPayload(let why): "bad LZ4 payload: \(why)"
        case .seqOutOfOrder(let e, let f): "seq \(f) where \(e) was expected"
        case .badPrevSeq(let s, let p): "record \(s) links to previous seq \(p), not below it"
        case .badPrevOffset(let p, let o): "link to seq \(p) at byte offset \(o) cannot point at a frame"
        case .seqOutOfRange(let s): "seq \(s) is outside 1...\(RecordFrame.maxSeq)"
        case .notASegmentFile(let why): why
        case .segmentGap(let e, let f): "starts at seq \(f) but seq \(e) was expected (a segment is missing or misnamed)"
        case .timestampDecreased(let s, let t, let p): "record \(s) has timestamp \(t), earlier than the \(p) before it"
        case .brokenNameChain(let s, let e, let f):
            "record \(s) links to seq \(f.seq) at offset \(f.offset), but the previous record of its name is "
                + (e.map { "seq \($0.seq) at offset \($0.offset)" } ?? "none")
        }
    }
}

private func hex(_ value: UInt32) -> String { "0x" + Hex.string(value, width: 8) }
