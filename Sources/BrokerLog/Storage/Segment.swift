import Glibc

/// One segment file as the open log keeps it: its file, size, last seq and sparse
/// offset index. Only the newest (active) one is written.
struct Segment {
    let header: SegmentHeader
    var baseSeq: UInt64 { header.baseSeq }
    let path: String
    let file: FileHandle
    let faults: (any StorageFaults)?
    var size: Int
    /// `baseSeq - 1` while the segment holds no record.
    var lastSeq: UInt64
    var offsets = SparseOffsetIndex()
    /// Where the last frame starts and its CRC field: what a checkpoint pins (SPEC.md 2.6).
    var lastFrameOffset: UInt32 = 0
    var lastFrameCRC: UInt32 = 0

    var isEmpty: Bool { lastSeq < baseSeq }

    /// A segment with nothing noted past its header yet: its frames are noted as they
    /// are written or read, or adopted from a checkpoint.
    init(header: SegmentHeader, path: String, file: FileHandle, faults: (any StorageFaults)?) {
        self.header = header
        self.path = path
        self.file = file
        self.faults = faults
        self.size = SegmentHeader.size
        self.lastSeq = header.baseSeq - 1
    }

    /// Creates a new, empty segment and makes it and its directory entry durable
    /// before returning (SPEC.md 2.4).
    static func create(in directory: String, baseSeq: UInt64, createdMs: Int64, faults: (any StorageFaults)?) throws(LogError) -> Segment {
        let path = directory + "/" + SegmentFileName.name(forBaseSeq: baseSeq)
        let file = try FileHandle.open(path, flags: O_RDWR | O_CREAT | O_EXCL)
        do throws(LogError) {
            if let fault = faults?.writeFault(path: path, count: SegmentHeader.size) {
                throw .io(path: path, operation: "write", errno: fault.errno)
            }
            let header = try writeHeader(to: file, baseSeq: baseSeq, createdMs: createdMs)
            try FileHandle.syncDirectory(directory)
            return Segment(header: header, path: path, file: file, faults: faults)
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Writes a fresh header over whatever the file holds and fsyncs it.
    static func writeHeader(to file: FileHandle, baseSeq: UInt64, createdMs: Int64) throws(LogError) -> SegmentHeader {
        let header = SegmentHeader(baseSeq: baseSeq, createdMs: createdMs)
        try file.truncate(to: 0)
        try file.write(header.encoded(), at: 0)
        try file.sync()
        return header
    }

    /// Appends frames at the end. On failure the file is cut back to its previous size,
    /// so a failed append leaves no partial frame behind.
    mutating func append(_ buffer: [UInt8], count: Int) throws(LogError) {
        do throws(LogError) {
            if let fault = faults?.writeFault(path: path, count: count) {
                try file.write(buffer, range: 0..<min(fault.written, count), at: size)
                throw .io(path: path, operation: "write", errno: fault.errno)
            }
            try file.write(buffer, range: 0..<count, at: size)
        } catch {
            try? file.truncate(to: size)
            throw error
        }
        size += count
    }

    /// fsyncs the segment's file.
    func sync() throws(LogError) {
        if let code = faults?.syncFault(path: path) { throw .io(path: path, operation: "fsync", errno: code) }
        try file.sync()
    }

    /// Records that the frame of `seq`, with CRC field `crc`, now ends the segment.
    mutating func noteFrame(seq: UInt64, offset: Int, crc: UInt32) {
        offsets.note(seq: seq, offset: offset)
        lastSeq = seq
        lastFrameOffset = UInt32(offset)
        lastFrameCRC = crc
    }

    /// The segment as the walker reads it, up to its size.
    var reader: SegmentReader { SegmentReader(file: file, path: path, header: header, fileSize: size) }

}

/// The read side of a segment, as a snapshot: safe to use without the log's lock.
struct SegmentSnapshot: Sendable {
    let header: SegmentHeader
    var baseSeq: UInt64 { header.baseSeq }
    let path: String
    let file: FileHandle
    /// The size when the snapshot was taken: frames beyond it are not read.
    let size: Int
    let offsets: SparseOffsetIndex

    init(_ segment: Segment) {
        header = segment.header
        path = segment.path
        file = segment.file
        size = segment.size
        offsets = segment.offsets
    }

    /// The segment as the walker reads it, up to the snapshot's size.
    var reader: SegmentReader { SegmentReader(file: file, path: path, header: header, fileSize: size) }
}
