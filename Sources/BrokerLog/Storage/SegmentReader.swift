/// A read-only view of one segment file: its header, size and frames. It takes no
/// lock and changes nothing, so it can read a segment a running writer is appending to.
public struct SegmentReader: Sendable {
    public let path: String
    public let header: SegmentHeader
    /// The file's size when it was opened; frames are read up to here.
    public let fileSize: Int
    let file: FileHandle

    /// Opens a segment and checks its header. When the file has a segment name, the
    /// header's base seq must equal the name's seq.
    public init(path: String) throws(LogError) {
        let file = try FileHandle.openForReading(path)
        let fileName = String(path.split(separator: "/").last ?? "")
        try self.init(file: file, path: path, expectedBaseSeq: SegmentFileName.baseSeq(of: fileName))
    }

    init(file: FileHandle, path: String, expectedBaseSeq: UInt64?) throws(LogError) {
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
        self.path = path
        self.header = header
        self.fileSize = size
        self.file = file
    }

    /// A reader of the frames from `offset` (the first frame by default) to `limit`
    /// (the size at open by default).
    public func frames(from offset: Int = SegmentHeader.size, limit: Int? = nil, expectedSeq: UInt64? = nil) -> FrameReader {
        FrameReader(
            file: file, from: offset, limit: limit ?? fileSize,
            expectedSeq: offset == SegmentHeader.size ? header.baseSeq : expectedSeq)
    }
}
