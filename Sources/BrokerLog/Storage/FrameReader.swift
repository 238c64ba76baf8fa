/// Reads the frames of one segment (a file, or bytes in memory) in order through a reusable buffer, from a
/// start offset up to a limit, checking each frame and the seq order. This is the
/// one sequential parser of segments; ``LogWalker`` drives it for every reader.
///
/// A ``FrameView`` it returns points into the reader's buffer and is valid only
/// until the next call to ``next()``.
package final class FrameReader {
    /// One step of a read.
    package enum Item {
        /// A valid frame and the byte offset where it starts.
        case frame(FrameView, offset: Int)
        /// An invalid frame at `offset`. The reader stays there until ``skipDamage()``.
        case damage(offset: Int, problem: FrameProblem)
    }

    let file: any ByteSource
    /// File offset of the next frame.
    package private(set) var offset: Int
    /// Bytes beyond this offset are not read.
    package let limit: Int
    /// The seq the next frame must have, when known.
    package private(set) var expectedSeq: UInt64?
    /// The segment's format version, which says what byte 37 of a frame means.
    let version: UInt16

    /// Frames starting before this offset had their CRC checked by ``batchEnd(from:seq:)``
    /// over the same bytes (segments are append-only), so ``next()`` does not check it again.
    private var crcCheckedBefore = 0
    /// The reader ``batchEnd(from:seq:)`` reads ahead with, kept for the next batch.
    private var lookahead: FrameReader?

    private var buffer: UnsafeMutableRawBufferPointer
    private var bufferStart = 0
    private var bufferCount = 0
    private let chunkSize: Int

    package init(file: any ByteSource, version: UInt16, from offset: Int, limit: Int, expectedSeq: UInt64?, chunkSize: Int = 1 << 20) {
        self.file = file
        self.version = version
        self.offset = offset
        self.limit = limit
        self.expectedSeq = expectedSeq
        self.chunkSize = chunkSize
        self.buffer = .allocate(byteCount: chunkSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next frame or damage, or nil at the limit.
    package func next() throws(LogError) -> Item? {
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
            view = try RecordFrame.decode(candidate, version: version, checkCRC: offset >= crcCheckedBefore)
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
    package func skipDamage() throws(LogError) -> Bool {
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

    /// How the batch whose first frame (or any frame) starts at `start` ends.
    package enum BatchEnd {
        /// Its last frame ends at `end`.
        case complete(end: Int)
        /// A frame of it is invalid, or the limit comes first, at `failedAt`; `lastSeq` is
        /// the last valid frame's and `records` how many valid frames it has.
        case incomplete(failedAt: Int, lastSeq: UInt64, records: Int)
    }

    /// Reads ahead, with a reader of its own (frames this reader returned stay valid),
    /// from the frame at `start`, whose seq is `seq`, to the first frame that does not
    /// continue its batch.
    package func batchEnd(from start: Int, seq: UInt64) throws(LogError) -> BatchEnd {
        let probe = lookahead ?? FrameReader(file: file, version: version, from: start, limit: limit, expectedSeq: seq, chunkSize: chunkSize)
        lookahead = probe
        probe.offset = start
        probe.expectedSeq = seq
        var records = 0
        var lastSeq = seq - 1
        while true {
            let position = probe.offset
            guard case .frame(let frame, _)? = try probe.next() else {
                return .incomplete(failedAt: position, lastSeq: lastSeq, records: records)
            }
            records += 1
            lastSeq = frame.seq
            if !frame.continuesBatch {
                crcCheckedBefore = probe.offset
                return .complete(end: probe.offset)
            }
        }
    }

    /// Moves to `offset`, expecting `seq` there (after an incomplete batch, to report
    /// what stopped it).
    package func seek(to offset: Int, expectedSeq seq: UInt64?) {
        self.offset = offset
        expectedSeq = seq
    }

    /// Gives up on the rest of the segment: ``next()`` returns nil from now on.
    package func skipToLimit() {
        offset = limit
        expectedSeq = nil
    }

    /// Where the first whole frame valid by rules 1 to 4 (its own seq taken) with a seq
    /// above `floor` starts, searching every byte offset from `damaged` (the invalid
    /// frame's own included: one that fails only the seq order is no torn write) up to
    /// the limit; nil when there is none. This tells damage from a torn tail (SPEC.md
    /// 3.4 step 4): a torn write leaves nothing valid after it. Seqs grow by one a
    /// frame, so a candidate's seq can be at most the number of smallest frames that
    /// fit from `damaged` above `floor + 1`; the CRC is checked only for offsets whose
    /// length and seq fields are plausible.
    package func laterFrame(from damaged: Int, seqAbove floor: UInt64) throws(LogError) -> Int? {
        let smallestFrame = RecordFrame.prefixSize + RecordFrame.minBodyLength
        let ceiling = floor + UInt64(max(0, limit - damaged) / smallestFrame) + 1
        let window = 64 << 10
        var start = damaged
        let probe = FrameReader(file: file, version: version, from: start, limit: limit, expectedSeq: nil, chunkSize: window)
        while start + smallestFrame <= limit {
            let chunk = try bytes(at: start, count: min(window, limit - start))
            var position = 0
            while position + 16 <= chunk.count {
                let bodyLength = Int(chunk.loadLE(UInt32.self, at: position))
                let seq = chunk.loadLE(UInt64.self, at: position + 8)
                let at = start + position
                if bodyLength >= RecordFrame.minBodyLength, bodyLength <= RecordFrame.maxBodyLength,
                    at + RecordFrame.prefixSize + bodyLength <= limit, seq > floor, seq <= ceiling
                {
                    probe.offset = at
                    probe.expectedSeq = nil
                    if case .frame? = try probe.next() { return at }
                }
                position += 1
            }
            // Fields that straddle the window's end are checked with the next window.
            start += max(1, chunk.count - 15)
            if chunk.count < window { break }
        }
        return nil
    }

    /// `count` bytes at `offset` (fewer only at the end of the file), refilling the
    /// buffer from the file when they are not all in it.
    private func bytes(count: Int) throws(LogError) -> UnsafeRawBufferPointer {
        try bytes(at: offset, count: count)
    }

    private func bytes(at offset: Int, count: Int) throws(LogError) -> UnsafeRawBufferPointer {
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
