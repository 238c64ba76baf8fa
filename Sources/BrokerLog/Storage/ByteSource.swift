/// Where a segment's bytes come from: a file, or memory. The frame reader and the
/// walker read through it, so that the format's tests and the fuzz replay can read
/// segments built in memory, as LevelDB's `log_test` reads its log from a string.
package protocol ByteSource: Sendable {
    /// The number of bytes.
    func size() throws(LogError) -> Int
    /// Reads up to `buffer.count` bytes at `offset`; fewer only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(LogError) -> Int
}

extension ByteSource {
    /// Reads up to `count` bytes at `offset` into the start of `buffer`.
    package func read(into buffer: inout [UInt8], count: Int, at offset: Int) throws(LogError) -> Int {
        try buffer.withUnsafeMutableBytes { bytes in
            Result { () throws(LogError) in try read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<count]), at: offset) }
        }.get()
    }
}

/// A segment's bytes held in memory.
package struct MemoryBytes: ByteSource {
    package let bytes: [UInt8]

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package func size() -> Int { bytes.count }

    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        guard offset >= 0, offset < bytes.count else { return 0 }
        let count = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { all in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]))
        }
        return count
    }
}
