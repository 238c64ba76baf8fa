/// The one walker of the log: segment headers, then their frames, checking each
/// frame (SPEC.md 2.3), seq continuity within and across segments and, when asked,
/// the name chain and timestamp order. It hands every damage it finds, typed, to the
/// caller's ``DamagePolicy`` and goes on or stops as the policy says. Recovery, the
/// scrub, the checkpoint audit, reads and the tools all walk with it; they differ
/// only in what they walk and in their policy.
///
/// It tells damage in the newest segment from a torn tail: an invalid frame (or
/// header) with no valid frame after it is ``Damage/Kind/incompleteTail``; one
/// followed by a whole frame with a later seq is ``Damage/Kind/corrupt``.
///
/// A ``FrameView`` it returns points into its buffer and is valid only until the
/// next call to ``next()``.
package final class LogWalker<Policy: DamagePolicy> {
    /// One segment file to walk, and which part of it.
    package struct Span {
        package var path: String
        /// The segment, when the caller has it open with its header checked.
        package var opened: SegmentReader?
        /// The base seq its file name encodes, which the header must match.
        package var nameSeq: UInt64?
        /// Why the entry cannot be a segment at all (from the directory listing).
        package var problem: FrameProblem?
        /// Where to start (after the header by default) and the seq expected there.
        package var from = SegmentHeader.size
        package var expectedSeq: UInt64?
        /// Where to stop (the file's size by default).
        package var limit: Int?
        /// Only the newest segment can end in a torn tail.
        package var isNewest = false
        /// Bytes read at a time: small for reads of one frame.
        package var readAhead = 1 << 20

        package init(path: String, nameSeq: UInt64? = nil, problem: FrameProblem? = nil, isNewest: Bool = false) {
            self.path = path
            self.nameSeq = nameSeq
            self.problem = problem
            self.isNewest = isNewest
        }

        package init(
            _ segment: SegmentReader, from: Int = SegmentHeader.size, expectedSeq: UInt64? = nil, limit: Int? = nil, readAhead: Int = 1 << 20,
            isNewest: Bool = false
        ) {
            self.path = segment.path
            self.opened = segment
            self.from = from
            self.expectedSeq = expectedSeq
            self.limit = limit
            self.readAhead = readAhead
            self.isNewest = isNewest
        }
    }

    /// What the walk found, in file order.
    package enum Item {
        /// A segment whose header is sound; its frames follow.
        case segment(SegmentReader, isNewest: Bool)
        /// A valid frame and the byte offset where it starts.
        case frame(FrameView, offset: Int, segment: SegmentReader)
        /// The end of a segment's frames: where its last valid frame ends (where a
        /// torn tail is cut), its last seq, and with `rebuildOffsets` the sparse offset
        /// index of the valid frames walked (the segment's whole index when the walk
        /// began at its header; empty otherwise), for the checks that compare it with a
        /// checkpoint's.
        case segmentEnd(SegmentReader, validEnd: Int, lastSeq: UInt64, offsets: SparseOffsetIndex)
    }

    /// The caller's policy, with whatever it kept of the walk.
    package var policy: Policy
    /// The name chain as checked so far (nil when not checked, or after damage,
    /// since links into skipped bytes cannot be checked).
    package private(set) var chain: NameChain?
    /// Whether each segment must start right after the one before it.
    private let checkContinuity: Bool
    private let checkTimestamps: Bool
    /// Only the checks against a checkpoint need it: a reader that streams a segment
    /// would otherwise hold an entry per 4 KiB of it.
    private let rebuildOffsets: Bool
    private let checkBatches: Bool
    /// Start a chain check at the first segment when none was given.
    private var startChain: Bool

    private var spans: [Span]
    private var nextSpan = 0
    private var current: Current?
    private var expectedBaseSeq: UInt64?
    private var lastTimestamp = Int64.min
    private var stopped = false

    private struct Current {
        let segment: SegmentReader
        let frames: FrameReader
        let isNewest: Bool
        var lastSeq: UInt64
        var validEnd: Int
        var offsets = SparseOffsetIndex()
        var damaged = false
        /// Frames before this offset belong to a batch already known to be whole.
        var wholeBatchEnd = 0
        /// The last frame walked said another frame of its batch follows.
        var inBatch = false
    }

    /// - Parameters:
    ///   - chain: check each record's link to the previous record of its name, going
    ///     on from this chain (memory grows with the number of names).
    ///   - checkContinuity: each segment must start at the seq after the last one.
    ///   - checkChain: check the name chain from the first segment walked (when no
    ///     `chain` is given).
    ///   - checkTimestamps: timestamps must not decrease (`verify`).
    ///   - rebuildOffsets: give each segment's sparse offset index at its end.
    ///   - checkBatches: hand over a batch's frames only once its last frame is found
    ///     whole (SPEC.md 2.3); reads of records the log made visible, which are whole
    ///     batches, skip this read-ahead.
    package init(
        _ spans: [Span], policy: Policy, chain: NameChain? = nil, checkChain: Bool = false,
        checkContinuity: Bool = true, checkTimestamps: Bool = false, rebuildOffsets: Bool = false, checkBatches: Bool = true
    ) {
        self.checkBatches = checkBatches
        self.spans = spans
        self.policy = policy
        self.chain = chain
        self.startChain = chain == nil && checkChain
        self.checkContinuity = checkContinuity
        self.checkTimestamps = checkTimestamps
        self.rebuildOffsets = rebuildOffsets
    }

    /// The next segment, frame or segment end; nil when the walk is over.
    package func next() throws(LogError) -> Item? {
        while !stopped {
            guard var walking = current else {
                guard nextSpan < spans.count else { return nil }
                nextSpan += 1
                if let segment = try begin(spans[nextSpan - 1]) { return .segment(segment, isNewest: spans[nextSpan - 1].isNewest) }
                continue
            }
            defer { if current != nil { current = walking } }
            switch try walking.frames.next() {
            case nil:
                current = nil
                expectedBaseSeq = walking.damaged ? nil : walking.lastSeq + 1
                return .segmentEnd(walking.segment, validEnd: walking.validEnd, lastSeq: walking.lastSeq, offsets: walking.offsets)
            case .frame(let frame, let offset):
                if checkBatches, try !checkBatch(frame, at: offset, in: &walking) { continue }
                if let problem = chain?.note(frame, at: offset),
                    try report(Damage(segment: walking.segment.path, offset: offset, problem: problem)) == .stop
                {
                    return nil
                }
                if checkTimestamps, frame.timestamp < lastTimestamp,
                    try report(
                        Damage(
                            segment: walking.segment.path, offset: offset,
                            problem: .timestampDecreased(seq: frame.seq, timestamp: frame.timestamp, previous: lastTimestamp))) == .stop
                {
                    return nil
                }
                lastTimestamp = frame.timestamp
                if rebuildOffsets { walking.offsets.note(seq: frame.seq, offset: offset) }
                walking.lastSeq = frame.seq
                walking.validEnd = offset + frame.frameSize
                return .frame(frame, offset: offset, segment: walking.segment)
            case .damage(let offset, let problem):
                // The seqs before the damaged frame: the last one handed over, or past it the
                // valid frames of an incomplete batch, which were read but not handed over.
                let floor = max(walking.lastSeq, (walking.frames.expectedSeq ?? 1) - 1)
                let laterFrame = try walking.isNewest ? walking.frames.laterFrame(from: offset, seqAbove: floor) : offset
                let kind: Damage.Kind = laterFrame == nil ? .incompleteTail(bytes: walking.frames.limit - offset) : .corrupt
                guard try report(Damage(segment: walking.segment.path, offset: offset, problem: problem, kind: kind)) == .skip else { return nil }
                walking.damaged = true
                // A torn tail ends the walk: the chain checked up to it still describes
                // every frame handed over (recovery's index is built from it). Links
                // past skipped bytes in the middle cannot be checked.
                if laterFrame != nil { dropChain() }
                if laterFrame == nil {
                    walking.frames.skipToLimit()
                } else if try !walking.frames.skipDamage() {
                    walking.frames.skipToLimit()
                }
            }
        }
        return nil
    }

    /// Whether the walk may hand over `frame`: true unless it starts a batch that is not
    /// whole, which is reported at the batch's first frame (a torn tail when nothing
    /// valid follows in the newest segment, else corruption). A key on a frame inside a
    /// batch is reported and the frame handed over.
    private func checkBatch(_ frame: FrameView, at offset: Int, in walking: inout Current) throws(LogError) -> Bool {
        let continues = frame.continuesBatch
        let seq = frame.seq
        if frame.isKeyed, walking.inBatch,
            try report(Damage(segment: walking.segment.path, offset: offset, problem: .keyInsideBatch(seq: seq))) == .stop
        {
            return false
        }
        guard continues, offset >= walking.wholeBatchEnd else {
            walking.inBatch = continues
            return true
        }
        // `frame` is not used past here: the search below may reuse the reader's buffer.
        switch try walking.frames.batchEnd(from: offset, seq: seq) {
        case .complete(let end):
            walking.wholeBatchEnd = end
            walking.inBatch = true
            return true
        case .incomplete(let failedAt, let lastSeq, let records):
            let laterFrame = try walking.isNewest ? walking.frames.laterFrame(from: failedAt, seqAbove: lastSeq) : offset
            let kind: Damage.Kind = laterFrame == nil ? .incompleteTail(bytes: walking.frames.limit - offset) : .corrupt
            let damage = Damage(segment: walking.segment.path, offset: offset, problem: .incompleteBatch(firstSeq: seq, records: records), kind: kind)
            guard try report(damage) == .skip else { return false }
            walking.damaged = true
            walking.inBatch = false
            // As for a torn frame: a torn batch at the tail leaves the chain whole.
            if laterFrame != nil { dropChain() }
            // Nothing of the batch is handed over; what stopped it is reported next.
            if laterFrame == nil { walking.frames.skipToLimit() } else { walking.frames.seek(to: failedAt, expectedSeq: lastSeq + 1) }
            return false
        }
    }

    /// Opens a span's segment and checks its header and its place after the segment
    /// before; nil when it cannot be walked (the policy has been told why).
    private func begin(_ span: Span) throws(LogError) -> SegmentReader? {
        let segment: SegmentReader
        if let opened = span.opened {
            segment = opened
        } else {
            if let problem = span.problem {
                try skipSegment(Damage(segment: span.path, offset: 0, problem: problem))
                return nil
            }
            let file = try FileHandle.openForReading(span.path)
            do {
                segment = try SegmentReader(file: file, path: span.path, expectedBaseSeq: span.nameSeq)
            } catch let .corrupt(path, offset, problem) {
                let torn = span.isNewest && offset == 0 ? try Self.isTornCreation(file) : false
                try skipSegment(
                    Damage(segment: path, offset: offset, problem: problem, kind: torn ? .incompleteTail(bytes: try file.size()) : .corrupt))
                return nil
            }
        }
        if checkContinuity, let expected = expectedBaseSeq, segment.header.baseSeq != expected,
            try report(Damage(segment: span.path, offset: 12, problem: .segmentGap(expectedBaseSeq: expected, foundBaseSeq: segment.header.baseSeq)))
                == .stop
        {
            return nil
        }
        if startChain {
            chain = NameChain(firstBaseSeq: segment.header.baseSeq)
            startChain = false
        }
        let expectedSeq = span.from == SegmentHeader.size ? segment.header.baseSeq : span.expectedSeq
        let frames = FrameReader(
            file: segment.file, version: segment.header.version, from: span.from, limit: span.limit ?? segment.fileSize, expectedSeq: expectedSeq,
            chunkSize: span.readAhead)
        current = Current(
            segment: segment, frames: frames, isNewest: span.isNewest,
            lastSeq: (expectedSeq ?? segment.header.baseSeq) - 1, validEnd: span.from)
        return segment
    }

    /// Reports damage that makes a whole segment unreadable; the walk goes on with the
    /// next one unless the policy stops it.
    private func skipSegment(_ damage: Damage) throws(LogError) {
        expectedBaseSeq = nil
        // A newest segment torn while it was created holds no frame: the chain of the
        // segments before it is whole.
        if case .incompleteTail = damage.kind {} else { dropChain() }
        _ = try report(damage)
    }

    /// After damage whose bytes are skipped, links can no longer be checked.
    private func dropChain() {
        chain = nil
        startChain = false
    }

    private func report(_ damage: Damage) throws(LogError) -> DamageAction {
        let action = try policy.handle(damage)
        if action == .stop { stopped = true }
        return action
    }

    /// A newest segment shorter than a header, or all zeros, was being created when
    /// the writer stopped (SPEC.md 2.4 writes and fsyncs the header before any record).
    private static func isTornCreation(_ file: any ByteSource) throws(LogError) -> Bool {
        let size = try file.size()
        if size < SegmentHeader.size { return true }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while offset < size {
            let read = try file.read(into: &buffer, count: min(buffer.count, size - offset), at: offset)
            if read == 0 { break }
            if buffer[0..<read].contains(where: { $0 != 0 }) { return false }
            offset += read
        }
        return true
    }
}

extension LogWalker where Policy == FailOnDamage {
    /// Reads the one frame at `offset` of `segment`, which must have seq `seq` and end
    /// by `limit`, and hands it to `body`: the reads of the log, and the check of a
    /// checkpoint's last frames. Damage, or no frame there, fails with the damage.
    package static func frame<T>(
        at offset: Int, seq: UInt64, in segment: SegmentReader, limit: Int, _ body: (FrameView) throws(LogError) -> T
    ) throws(LogError) -> T {
        let span = Span(segment, from: offset, expectedSeq: seq, limit: limit, readAhead: 4096)
        let walker = LogWalker([span], policy: FailOnDamage(), checkContinuity: false, checkBatches: false)
        while let item = try walker.next() {
            switch item {
            case .segment: continue
            case .frame(let frame, _, _): return try body(frame)
            case .segmentEnd: break
            }
        }
        throw .corrupt(segment: segment.path, offset: offset, problem: .short(needed: RecordFrame.prefixSize, available: max(0, limit - offset)))
    }
}

extension LogWalker.Span {
    /// The segments of a data directory, newest last.
    package static func directory(_ path: String) throws(LogError) -> [LogWalker.Span] {
        let listed = try SegmentFileName.list(in: path)
        return listed.enumerated().map { position, entry in
            LogWalker.Span(path: entry.path, nameSeq: entry.baseSeq, problem: entry.problem, isNewest: position == listed.count - 1)
        }
    }
}

extension LogWalker.Span {
    /// What the offline tools walk for `path` (SPEC.md 5.2): a data directory's
    /// segments, or one file. A lone file named like a segment must match its header,
    /// and is the active segment only when no segment with a higher seq sits beside
    /// it; a file with any other name is read as a sealed segment of whatever base
    /// seq its header says.
    package static func forTool(_ path: String) throws(LogError) -> (spans: [LogWalker.Span], isDirectory: Bool) {
        switch PathKind.of(path) {
        case .missing:
            throw .notALog(path: path, reason: "no such file or directory")
        case .other:
            throw .notALog(path: path, reason: "not a regular file or directory")
        case .directory:
            let spans = try directory(path)
            guard !spans.isEmpty else { throw .notALog(path: path, reason: "not a Broker data directory (it has no .seg files)") }
            return (spans, true)
        case .file:
            return ([try loneFile(path)], false)
        }
    }

    private static func loneFile(_ path: String) throws(LogError) -> LogWalker.Span {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let fileName = String(parts.last ?? "")
        switch SegmentFileName.match(fileName) {
        case .invalid(let seq):
            return LogWalker.Span(path: path, problem: SegmentFileName.outOfRange(seq))
        case .segment(let baseSeq):
            let directory = parts.count > 1 ? parts.dropLast().joined(separator: "/") : "."
            let newest = (try? SegmentFileName.list(in: directory.isEmpty ? "/" : directory))?.last { $0.problem == nil }?.baseSeq
            return LogWalker.Span(path: path, nameSeq: baseSeq, isNewest: newest.map { $0 <= baseSeq } ?? true)
        case .other:
            let file = try FileHandle.openForReading(path)
            do {
                _ = try SegmentReader(file: file, path: path, expectedBaseSeq: nil)
            } catch {
                guard case .corrupt(_, let offset, let problem) = error else { throw error }
                if problem == .badMagic || problem.isShort && offset == 0 {
                    throw .notALog(path: path, reason: "not a Broker segment file (\(problem))")
                }
                // Other damage is the walk's to report.
            }
            return LogWalker.Span(path: path)
        }
    }
}
