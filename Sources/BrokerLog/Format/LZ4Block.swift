import CLZ4

/// LZ4 block compression (the raw block format, no frame header) from the system liblz4.
enum LZ4Block {
    /// Compresses `source` into `destination` (resized as needed) and returns the
    /// compressed size, or nil when liblz4 refuses.
    static func compress(_ source: UnsafeRawBufferPointer, into destination: inout [UInt8]) -> Int? {
        let bound = Int(LZ4_compressBound(Int32(source.count)))
        if destination.count < bound { destination = [UInt8](repeating: 0, count: bound) }
        let written = destination.withUnsafeMutableBytes { out in
            LZ4_compress_default(
                source.baseAddress?.assumingMemoryBound(to: CChar.self),
                out.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(bound))
        }
        return written > 0 ? Int(written) : nil
    }

    /// Decompresses a block that must expand to exactly `originalLength` bytes.
    static func decompress(_ block: UnsafeRawBufferPointer, originalLength: Int) throws(FrameProblem) -> [UInt8] {
        if originalLength == 0 { return [] }
        var result = [UInt8](repeating: 0, count: originalLength)
        let produced = result.withUnsafeMutableBytes { out in
            LZ4_decompress_safe(
                block.baseAddress?.assumingMemoryBound(to: CChar.self),
                out.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(block.count), Int32(originalLength))
        }
        guard produced == originalLength else {
            throw .badCompressedPayload(
                produced < 0 ? "block does not decompress" : "expands to \(produced) bytes, not \(originalLength)")
        }
        return result
    }
}
