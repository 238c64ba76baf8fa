/// The fixed 32-byte header at the start of every segment file (SPEC.md 2.2).
package struct SegmentHeader: Sendable, Equatable {
    package static let size = 32
    package static let magic: [UInt8] = Array("BROKERSG".utf8)
    /// The version a writer writes: 2, whose frames carry batch and idempotency-key
    /// flags (SPEC.md 2.3). Readers read versions 1 and 2.
    package static let currentVersion: UInt16 = 2
    package static let readableVersions: ClosedRange<UInt16> = 1...2

    /// Where each field starts (SPEC.md 2.2's table); the CRC covers the bytes before it.
    package enum Offset {
        package static let magic = 0
        package static let version = 8
        package static let flags = 10
        package static let baseSeq = 12
        package static let createdMs = 20
        package static let crc = 28
    }

    package var version: UInt16
    package var flags: UInt16
    package var baseSeq: UInt64
    package var createdMs: Int64

    package init(baseSeq: UInt64, createdMs: Int64, version: UInt16 = SegmentHeader.currentVersion) {
        self.version = version
        self.flags = 0
        self.baseSeq = baseSeq
        self.createdMs = createdMs
    }

    /// The header's 32 bytes.
    package func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.size)
        bytes.appendLE(version)
        bytes.appendLE(flags)
        bytes.appendLE(baseSeq)
        bytes.appendLE(createdMs)
        bytes.appendLE(CRC32C.checksum(bytes))
        return bytes
    }

    /// Decodes and checks a header from the first bytes of a segment.
    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(FrameProblem) -> SegmentHeader {
        guard bytes.count >= size else { throw .short(needed: size, available: bytes.count) }
        guard bytes[Offset.magic..<(Offset.magic + magic.count)].elementsEqual(magic) else { throw .badMagic }
        let stored = bytes.loadLE(UInt32.self, at: Offset.crc)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<Offset.crc]))
        guard stored == computed else { throw .headerCRCMismatch(stored: stored, computed: computed) }
        let version = bytes.loadLE(UInt16.self, at: Offset.version)
        guard readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        let flags = bytes.loadLE(UInt16.self, at: Offset.flags)
        guard flags == 0 else { throw .badHeaderFlags(flags) }
        let baseSeq = bytes.loadLE(UInt64.self, at: Offset.baseSeq)
        guard baseSeq >= 1, baseSeq <= RecordFrame.maxSeq else { throw .seqOutOfRange(baseSeq) }
        return SegmentHeader(baseSeq: baseSeq, createdMs: bytes.loadLE(Int64.self, at: Offset.createdMs), version: version)
    }
}
