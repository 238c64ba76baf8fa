import CCRC32C

/// CRC-32C (Castagnoli), computed with the CPU's CRC instructions when present.
package enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    @inline(__always)
    package static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        broker_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    /// The checksum of a byte array.
    package static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// Whether the hardware path is in use on this CPU.
    package static var usesHardware: Bool { broker_crc32c_hardware_available() != 0 }
}
