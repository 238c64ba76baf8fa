package import BrokerStore

/// The record frame (SPEC.md 2.3): pure encoding and decoding, no I/O.
package enum RecordFrame {
    /// Length and CRC fields before the checksummed body.
    package static let prefixSize = 8
    /// seq, timestamp, prevSeq, prevOffset, codec, reserved, nameLength.
    package static let fixedBodySize = 32
    /// The largest body a frame may declare (and the largest uncompressed data).
    package static let maxBodyLength = 1 << 30
    /// The greatest valid seq, 2^63 - 1: every seq fits a signed 64-bit integer, and
    /// `seq + 1` never overflows (SPEC.md 1).
    package static let maxSeq = UInt64(Int64.max)
    /// The smallest valid body: fixed fields plus a one-byte name.
    package static let minBodyLength = fixedBodySize + 1
    /// The most a frame's prefix, fixed fields and name take: enough to read a
    /// frame's header and name in one small read.
    package static let maxHeadSize = prefixSize + fixedBodySize + EventName.maxBytes

    /// Where each field starts in a frame (SPEC.md 2.3's table), the name last: what
    /// follows it (the key section, the payload) moves with the name's length.
    package enum Offset {
        package static let bodyLength = 0
        package static let crc = 4
        package static let seq = 8
        package static let timestamp = 16
        package static let prevSeq = 24
        package static let prevOffset = 32
        package static let codec = 36
        package static let flags = 37
        package static let nameLength = 38
        package static let name = 40
    }

    /// The fields of one record before encoding.
    package struct Fields {
        package var seq: UInt64
        package var timestamp: Int64
        package var prevSeq: UInt64
        package var prevOffset: UInt32
        /// Version 2: the next frame belongs to the same batch (SPEC.md 2.3).
        package var continuesBatch: Bool
        /// Version 2, a batch's first frame only: the batch's idempotency key.
        package var key: IdempotencyKey?

        package init(
            seq: UInt64, timestamp: Int64, prevSeq: UInt64, prevOffset: UInt32, continuesBatch: Bool = false, key: IdempotencyKey? = nil
        ) {
            self.seq = seq
            self.timestamp = timestamp
            self.prevSeq = prevSeq
            self.prevOffset = prevOffset
            self.continuesBatch = continuesBatch
            self.key = key
        }

        var flags: UInt8 { (continuesBatch ? FrameFlags.continuesBatch : 0) | (key == nil ? 0 : FrameFlags.keyed) }
    }

    /// Appends one frame to `output` and returns its size. With `compress`, the data is
    /// stored LZ4-compressed when that makes the payload smaller; `scratch` is reused
    /// working space so that encoding allocates nothing in the steady state.
    package static func encode(
        _ fields: Fields, event: String, data: [UInt8], compress: Bool,
        scratch: inout [UInt8], into output: inout [UInt8]
    ) -> Int {
        let start = output.count
        var compressedSize: Int?
        if compress, data.count > 8 {
            compressedSize = data.withUnsafeBytes { LZ4Block.compress($0, into: &scratch) }
            if let size = compressedSize, size + 4 >= data.count { compressedSize = nil }
        }
        var name = event
        name.withUTF8 { nameBytes in
            output.appendLE(UInt32(0))  // bodyLength, patched below
            output.appendLE(UInt32(0))  // crc, patched below
            output.appendLE(fields.seq)
            output.appendLE(fields.timestamp)
            output.appendLE(fields.prevSeq)
            output.appendLE(fields.prevOffset)
            output.append(compressedSize == nil ? Codec.raw.rawValue : Codec.lz4.rawValue)
            output.append(fields.flags)
            output.appendLE(UInt16(nameBytes.count))
            output.append(contentsOf: nameBytes)
        }
        if let key = fields.key {
            output.append(UInt8(key.bytes.count))
            output.append(contentsOf: key.bytes)
            output.appendLE(key.requestDigest)
        }
        if let compressedSize {
            output.appendLE(UInt32(data.count))
            output.append(contentsOf: scratch[0..<compressedSize])
        } else {
            output.append(contentsOf: data)
        }
        let frameSize = output.count - start
        output.withUnsafeMutableBytes { all in
            let frame = UnsafeMutableRawBufferPointer(rebasing: all[start...])
            frame.storeLE(UInt32(frameSize - prefixSize), at: Offset.bodyLength)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[prefixSize...]))
            frame.storeLE(crc, at: Offset.crc)
        }
        return frameSize
    }

    /// The CRC field of the frame that starts at `start` in `bytes`.
    static func crcField(of bytes: [UInt8], at start: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadLE(UInt32.self, at: start + Offset.crc) }
    }

    /// Parses and checks the frame at the start of `bytes` (rules 1 to 3 of SPEC.md 2.3;
    /// the codec payload is checked by ``FrameView/data()``, seq order by the caller).
    /// `checkCRC` false only for bytes whose CRC a reader has just checked.
    package static func decode(
        _ bytes: UnsafeRawBufferPointer, version: UInt16 = SegmentHeader.currentVersion, checkCRC: Bool = true
    ) throws(FrameProblem) -> FrameView {
        guard bytes.count >= prefixSize else { throw .short(needed: prefixSize, available: bytes.count) }
        let bodyLength = bytes.loadLE(UInt32.self, at: Offset.bodyLength)
        guard bodyLength >= minBodyLength, bodyLength <= maxBodyLength else { throw .badBodyLength(bodyLength) }
        let frameSize = prefixSize + Int(bodyLength)
        guard bytes.count >= frameSize else { throw .short(needed: frameSize, available: bytes.count) }
        let frame = UnsafeRawBufferPointer(rebasing: bytes[0..<frameSize])
        if checkCRC {
            let stored = frame.loadLE(UInt32.self, at: Offset.crc)
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[prefixSize...]))
            guard stored == computed else { throw .crcMismatch(stored: stored, computed: computed) }
        }
        return try FrameView(checkedFrame: frame, version: version)
    }

    /// Reads only the fixed fields of a frame whose CRC is not checked: for walking
    /// the name chain, where each step is checked against what it must find instead.
    static func peekHead(_ bytes: UnsafeRawBufferPointer) -> (
        seq: UInt64, prevSeq: UInt64, prevOffset: UInt32, timestamp: Int64, name: UnsafeRawBufferPointer
    )? {
        guard bytes.count >= prefixSize + fixedBodySize else { return nil }
        let nameLength = Int(bytes.loadLE(UInt16.self, at: Offset.nameLength))
        guard nameLength >= 1, bytes.count >= Offset.name + nameLength else { return nil }
        return (
            bytes.loadLE(UInt64.self, at: Offset.seq), bytes.loadLE(UInt64.self, at: Offset.prevSeq),
            bytes.loadLE(UInt32.self, at: Offset.prevOffset), bytes.loadLE(Int64.self, at: Offset.timestamp),
            UnsafeRawBufferPointer(rebasing: bytes[Offset.name..<(Offset.name + nameLength)])
        )
    }
}

/// A decoded frame: its fixed fields, with the name and payload still in the
/// borrowed buffer it came from. Valid only while that buffer is.
package struct FrameView {
    package let seq: UInt64
    package let timestamp: Int64
    package let prevSeq: UInt64
    package let prevOffset: UInt32
    package let codec: Codec
    /// Byte 37: 0 in version 1; ``FrameFlags`` in version 2.
    package let flags: UInt8
    /// The whole frame, prefix included.
    package let bytes: UnsafeRawBufferPointer
    /// Where the payload starts: after the name, and the key section of a keyed frame.
    private let payloadStart: Int

    /// The next frame belongs to the same batch: this one is not its batch's last.
    package var continuesBatch: Bool { flags & FrameFlags.continuesBatch != 0 }
    package var isKeyed: Bool { flags & FrameFlags.keyed != 0 }

    /// The idempotency key of a keyed frame (a batch's first).
    package var key: IdempotencyKey? {
        guard isKeyed else { return nil }
        let start = RecordFrame.Offset.name + nameBytes.count
        let length = Int(bytes[start])
        return IdempotencyKey(
            validated: [UInt8](bytes[(start + 1)..<(start + 1 + length)]),
            requestDigest: bytes.loadLE(UInt64.self, at: start + 1 + length))
    }

    package var frameSize: Int { bytes.count }

    /// The frame's CRC field.
    package var crc: UInt32 { bytes.loadLE(UInt32.self, at: RecordFrame.Offset.crc) }
    /// The name's UTF-8 bytes.
    package var nameBytes: UnsafeRawBufferPointer {
        let length = Int(bytes.loadLE(UInt16.self, at: RecordFrame.Offset.nameLength))
        return UnsafeRawBufferPointer(rebasing: bytes[RecordFrame.Offset.name..<(RecordFrame.Offset.name + length)])
    }
    /// The stored payload (for LZ4: the length field and the block).
    package var payload: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[payloadStart...])
    }
    /// The event name.
    package var event: String { String(decoding: nameBytes, as: UTF8.self) }

    /// The data's length once decompressed (read from the LZ4 header, not decompressed).
    package var dataLength: Int {
        codec == .raw ? payload.count : Int(payload.loadLE(UInt32.self, at: 0))
    }

    fileprivate init(checkedFrame frame: UnsafeRawBufferPointer, version: UInt16) throws(FrameProblem) {
        let codecByte = frame[RecordFrame.Offset.codec]
        guard let codec = Codec(rawValue: codecByte) else { throw .badCodec(codecByte) }
        let flags = frame[RecordFrame.Offset.flags]
        if version == 1 {
            guard flags == 0 else { throw .badReserved(flags) }
        } else {
            guard flags & ~FrameFlags.known == 0 else { throw .badFlags(flags) }
        }
        let nameLength = Int(frame.loadLE(UInt16.self, at: RecordFrame.Offset.nameLength))
        let nameEnd = RecordFrame.Offset.name + nameLength
        guard nameLength >= 1, nameLength <= EventName.maxBytes, nameEnd <= frame.count else {
            throw .badNameLength(nameLength)
        }
        if let why = EventName.problem(withUTF8: UnsafeRawBufferPointer(rebasing: frame[RecordFrame.Offset.name..<nameEnd])) {
            throw .badName(why)
        }
        var payloadStart = nameEnd
        if flags & FrameFlags.keyed != 0 {
            guard payloadStart < frame.count else { throw .badIdempotencyKey("no key length") }
            let keyLength = Int(frame[payloadStart])
            guard keyLength >= 1, payloadStart + 1 + keyLength + 8 <= frame.count else {
                throw .badIdempotencyKey("a key of \(keyLength) bytes does not fit")
            }
            let key = UnsafeRawBufferPointer(rebasing: frame[(payloadStart + 1)..<(payloadStart + 1 + keyLength)])
            if let why = IdempotencyKey.problem(with: key) { throw .badIdempotencyKey(why) }
            payloadStart += 1 + keyLength + 8
        }
        if codec == .lz4 {
            let payloadSize = frame.count - payloadStart
            guard payloadSize >= 4 else { throw .badCompressedPayload("payload shorter than its length field") }
            let original = frame.loadLE(UInt32.self, at: payloadStart)
            guard original <= RecordFrame.maxBodyLength else {
                throw .badCompressedPayload("uncompressed length \(original) exceeds the limit")
            }
        }
        let seq = frame.loadLE(UInt64.self, at: RecordFrame.Offset.seq)
        let prevSeq = frame.loadLE(UInt64.self, at: RecordFrame.Offset.prevSeq)
        let prevOffset = frame.loadLE(UInt32.self, at: RecordFrame.Offset.prevOffset)
        guard seq >= 1, seq <= RecordFrame.maxSeq else { throw .seqOutOfRange(seq) }
        guard prevSeq < seq else { throw .badPrevSeq(seq: seq, prevSeq: prevSeq) }
        guard prevSeq == 0 ? prevOffset == 0 : prevOffset >= SegmentHeader.size else {
            throw .badPrevOffset(prevSeq: prevSeq, prevOffset: prevOffset)
        }
        self.seq = seq
        self.timestamp = frame.loadLE(Int64.self, at: RecordFrame.Offset.timestamp)
        self.prevSeq = prevSeq
        self.prevOffset = prevOffset
        self.codec = codec
        self.flags = flags
        self.bytes = frame
        self.payloadStart = payloadStart
    }

    /// The data, decompressed when stored as LZ4 (rule 4 of SPEC.md 2.3).
    package func data() throws(FrameProblem) -> [UInt8] {
        switch codec {
        case .raw:
            return [UInt8](payload)
        case .lz4:
            let block = UnsafeRawBufferPointer(rebasing: payload[4...])
            return try LZ4Block.decompress(block, originalLength: dataLength)
        }
    }

    /// The record this frame stores.
    package func record() throws(FrameProblem) -> Record {
        Record(seq: seq, timestamp: timestamp, event: event, data: try data())
    }
}

/// Byte 37 of a version-2 frame (SPEC.md 2.3).
package enum FrameFlags {
    /// The next frame in the segment belongs to the same batch.
    package static let continuesBatch: UInt8 = 0x01
    /// A key section follows the name: the batch's idempotency key (on a batch's first frame only).
    package static let keyed: UInt8 = 0x02
    static let known: UInt8 = continuesBatch | keyed
}
