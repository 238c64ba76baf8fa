/// Reads the frames of one segment file in order through a reusable buffer, from a
/// start offset up to a limit, checking each frame and the seq order. This is the
/// one sequential parser of segments: recovery, reads, `dump`, `verify` and
/// `replay` all use it.
///
/// A ``FrameView`` it returns points into the reader's buffer and is valid only
/// until the next call to ``next()``.
public final class FrameReader {
    /// One step of a read.
    public enum Item {
        /// A valid frame and the byte offset where it starts.
        case frame(FrameView, offset: Int)
        /// An invalid frame at `offset`. The reader stays there until ``skipDamage()``.
        case damage(offset: Int, problem: FrameProblem)
    }

    let file: FileHandle
    /// File offset of the next frame.
    public private(set) var offset: Int
    /// Bytes beyond this offset are not read.
    public let limit: Int
    /// The seq the next frame must have, when known.
    public private(set) var expectedSeq: UInt64?

    private var buffer: UnsafeMutableRawBufferPointer
    private var bufferStart = 0
    private var bufferCount = 0
    private let chunkSize: Int

    init(file: FileHandle, from offset: Int, limit: Int, expectedSeq: UInt64?, chunkSize: Int = 1 << 20) {
        self.file = file
        self.offset = offset
        self.limit = limit
        self.expectedSeq = expectedSeq
        self.chunkSize = chunkSize
        self.buffer = .allocate(byteCount: chunkSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next frame or damage, or nil at the limit.
    public func next() throws(LogError) -> Item? {
        guard offset < limit else { return nil }
        let remaining = limit - offset
        let prefix = try bytes(count: min(RecordFrame.prefixSize, remaining))
        var frameSize = remaining
        if prefix.count == RecordFrame.prefixSize {
            let bodyLength = Int(prefix.loadLE(UInt32.self, at: 0))
            if bodyLength >= RecordFrame.minBodyLength, bodyLength <= RecordFrame.maxBodyLength {
                frameSize = min(RecordFrame.prefixSize + bodyLength, remaining)
            } else {
                frameSize = min(RecordFrame.prefixSize, remaining)
            }
        }
        let candidate = try bytes(count: frameSize)
        let view: FrameView
        do {
            view = try RecordFrame.decode(candidate)
        } catch {
            return .damage(offset: offset, problem: error)
        }
        if let expected = expectedSeq, view.seq != expected {
            return .damage(offset: offset, problem: .seqOutOfOrder(expected: expected, found: view.seq))
        }
        let start = offset
        offset += view.frameSize
        expectedSeq = view.seq + 1
        return .frame(view, offset: start)
    }

    /// Moves past a damaged frame when its length field is plausible and stays inside
    /// the limit; otherwise to the limit. Returns whether it could resynchronise.
    /// The seq check restarts with the next valid frame found.
    @discardableResult
    public func skipDamage() throws(LogError) -> Bool {
        expectedSeq = nil
        let remaining = limit - offset
        if remaining >= RecordFrame.prefixSize {
            let bodyLength = Int(try bytes(count: RecordFrame.prefixSize).loadLE(UInt32.self, at: 0))
            if bodyLength >= RecordFrame.minBodyLength, RecordFrame.prefixSize + bodyLength <= remaining {
                offset += RecordFrame.prefixSize + bodyLength
                return true
            }
        }
        offset = limit
        return false
    }

    /// `count` bytes at `offset` (fewer only at the end of the file), refilling the
    /// buffer from the file when they are not all in it.
    private func bytes(count: Int) throws(LogError) -> UnsafeRawBufferPointer {
        let inBuffer = offset >= bufferStart && offset + count <= bufferStart + bufferCount
        if !inBuffer {
            if buffer.count < count {
                buffer.deallocate()
                buffer = .allocate(byteCount: count, alignment: 16)
            }
            let want = min(max(chunkSize, count), buffer.count, limit - offset)
            bufferStart = offset
            bufferCount = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: offset)
        }
        let from = offset - bufferStart
        let available = min(count, bufferCount - from)
        return UnsafeRawBufferPointer(rebasing: buffer[from..<(from + available)])
    }
}
