/// A read-only view of one segment file: its header, size and frames. It takes no
/// lock and changes nothing, so it can read a segment a running writer is appending to.
package struct SegmentReader: Sendable {
    package let path: String
    package let header: SegmentHeader
    /// The file's size when it was opened; frames are read up to here.
    package let fileSize: Int
    /// Where its bytes are read from: the file, or memory (``MemoryBytes``).
    package let file: any ByteSource

    /// Opens a segment and checks its header. When the file has a segment name, the
    /// header's base seq must equal the name's seq.
    package init(path: String) throws(LogError) {
        let fileName = String(path.split(separator: "/").last ?? "")
        try self.init(file: try FileHandle.openForReading(path), path: path, expectedBaseSeq: SegmentFileName.baseSeq(of: fileName))
    }

    /// Checks the header of an open segment file; damage is thrown as ``LogError/corrupt(segment:offset:problem:)``.
    package init(file: any ByteSource, path: String, expectedBaseSeq: UInt64?) throws(LogError) {
        let size = try file.size()
        var headerBytes = [UInt8](repeating: 0, count: SegmentHeader.size)
        let read = try file.read(into: &headerBytes, count: headerBytes.count, at: 0)
        let header: SegmentHeader
        do throws(FrameProblem) {
            header = try headerBytes.withUnsafeBytes { bytes in
                Result { () throws(FrameProblem) in try SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<read])) }
            }.get()
        } catch {
            throw .corrupt(segment: path, offset: 0, problem: error)
        }
        if let expected = expectedBaseSeq, expected != header.baseSeq {
            throw .corrupt(segment: path, offset: 12, problem: .baseSeqMismatch(header: header.baseSeq, fileName: expected))
        }
        self.init(file: file, path: path, header: header, fileSize: size)
    }

    /// A segment whose header was checked when the log opened it.
    package init(file: any ByteSource, path: String, header: SegmentHeader, fileSize: Int) {
        self.path = path
        self.header = header
        self.fileSize = fileSize
        self.file = file
    }
}
