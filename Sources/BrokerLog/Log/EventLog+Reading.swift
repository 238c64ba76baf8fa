public import BrokerStore

/// A consistent view for reading: the segments as they were and the last visible seq.
struct ReadView: Sendable {
    let segments: [SegmentSnapshot]
    let visibleSeq: UInt64

    /// The segment holding `seq`: the one with the greatest base seq at or below it.
    func segment(holding seq: UInt64) -> SegmentSnapshot? {
        var low = 0
        var high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if segments[mid].baseSeq <= seq { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : segments[low - 1]
    }

    /// The record whose frame is at `location`, checked whole.
    func record(at location: RecordLocation) throws(LogError) -> Record {
        guard let segment = segment(holding: location.seq) else {
            throw .corrupt(segment: "(none)", offset: 0, problem: .seqOutOfOrder(expected: location.seq, found: 0))
        }
        return try LogWalker.frame(at: Int(location.offset), seq: location.seq, in: segment.reader, limit: segment.size) { frame throws(LogError) in
            do throws(FrameProblem) { return try frame.record() } catch {
                throw .corrupt(segment: segment.path, offset: Int(location.offset), problem: error)
            }
        }
    }

    /// Walks an event's name chain from `start` towards older records, calling `body`
    /// with each location and timestamp until it returns false or the chain ends.
    /// Each step reads only the frame's head, and checks that it holds the seq and
    /// name the previous step linked to.
    func walkChain(of event: String, from start: RecordLocation, _ body: (RecordLocation, Int64) throws(LogError) -> Bool) throws(LogError) {
        var name = event
        let nameBytes = name.withUTF8 { [UInt8]($0) }
        var head = [UInt8](repeating: 0, count: RecordFrame.maxHeadSize)
        var location = start
        while location.seq != 0, let segment = segment(holding: location.seq) {
            let offset = Int(location.offset)
            let count = min(head.count, max(0, segment.size - offset))
            let read = try segment.file.read(into: &head, count: count, at: offset)
            let fields = head.withUnsafeBytes { bytes in
                RecordFrame.peekHead(UnsafeRawBufferPointer(rebasing: bytes[0..<read])).map {
                    ($0.seq, $0.prevSeq, $0.prevOffset, $0.timestamp, $0.name.elementsEqual(nameBytes))
                }
            }
            guard let (seq, prevSeq, prevOffset, timestamp, sameName) = fields, seq == location.seq, sameName, prevSeq < seq else {
                throw .corrupt(
                    segment: segment.path, offset: offset, problem: .brokenNameChain(seq: location.seq, expected: location, found: location))
            }
            guard try body(location, timestamp) else { return }
            location = RecordLocation(seq: prevSeq, offset: prevOffset)
        }
    }
}

extension ReadView {
    /// See ``EventLog/lastSeq(atOrBefore:)``.
    func lastSeq(atOrBefore timestamp: Int64) throws(LogError) -> UInt64 {
        // The last segment whose first record is not later than `timestamp`.
        var low = 0
        var high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if let first = try head(at: SegmentHeader.size, in: segments[mid]), first.timestamp <= timestamp { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return 0 }
        let segment = segments[low - 1]
        var entries: [(seq: UInt64, offset: Int)] = []
        segment.offsets.forEach { seq, offset in entries.append((seq, Int(offset))) }
        low = 0
        high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if let found = try head(at: entries[mid].offset, in: segment), found.timestamp <= timestamp { low = mid + 1 } else { high = mid }
        }
        var offset = low > 0 ? entries[low - 1].offset : SegmentHeader.size
        var result = segment.baseSeq - 1
        while offset < segment.size, let found = try head(at: offset, in: segment), found.timestamp <= timestamp {
            result = found.seq
            offset += found.frameSize
        }
        return result
    }

    /// The seq, timestamp and size of the frame at `offset`, from its head (unchecked,
    /// like a chain step: a search, whose answer a read then checks).
    private func head(at offset: Int, in segment: SegmentSnapshot) throws(LogError) -> (seq: UInt64, timestamp: Int64, frameSize: Int)? {
        guard offset + RecordFrame.prefixSize + RecordFrame.fixedBodySize <= segment.size else { return nil }
        var head = [UInt8](repeating: 0, count: RecordFrame.prefixSize + RecordFrame.fixedBodySize)
        let read = try segment.file.read(into: &head, count: head.count, at: offset)
        guard read == head.count else { return nil }
        return head.withUnsafeBytes { bytes in
            let size = RecordFrame.prefixSize + Int(bytes.loadLE(UInt32.self, at: 0))
            return (bytes.loadLE(UInt64.self, at: RecordFrame.Offset.seq), bytes.loadLE(Int64.self, at: RecordFrame.Offset.timestamp), size)
        }
    }
}

extension LogState {
    /// What readers may see now: the segments as they are and the last visible seq.
    var readView: ReadView {
        ReadView(segments: segments.map(SegmentSnapshot.init), visibleSeq: visibleSeq)
    }
}

extension EventLog {
    func readView() -> ReadView {
        state.withLock { $0.readView }
    }

    /// The latest record of `event` as of seq `upTo` (default: the last visible seq),
    /// or nil when it has none.
    public func latest(of event: String, upTo: UInt64? = nil) throws(LogError) -> Record? {
        let (view, start) = state.withLock { state in
            (state.readView, state.latest[event])
        }
        let bound = min(upTo ?? view.visibleSeq, view.visibleSeq)
        guard let start, let location = try Self.newest(of: event, from: start, upTo: bound, in: view) else { return nil }
        return try view.record(at: location)
    }

    /// The latest record of every event name that `include` admits, as of seq `upTo`
    /// (default: the last visible seq), in seq order. Its cost grows with the number
    /// of names and with their records after `upTo` (each name's chain is followed
    /// back from its latest record), not with the size of the log.
    public func latest(upTo: UInt64? = nil, where include: (String) -> Bool = { _ in true }) throws(LogError) -> [Record] {
        let (view, index) = state.withLock { state in
            (state.readView, state.latest)
        }
        let bound = min(upTo ?? view.visibleSeq, view.visibleSeq)
        var locations: [RecordLocation] = []
        locations.reserveCapacity(index.count)
        try index.forEach { (event, start) throws(LogError) in
            guard include(event) else { return }
            if let location = try Self.newest(of: event, from: start, upTo: bound, in: view) { locations.append(location) }
        }
        locations.sort { $0.seq < $1.seq }
        var records: [Record] = []
        records.reserveCapacity(locations.count)
        for location in locations { records.append(try view.record(at: location)) }
        return records
    }

    /// The newest record of the chain from `start` with seq at or below `bound`.
    static func newest(of event: String, from start: RecordLocation, upTo bound: UInt64, in view: ReadView) throws(LogError) -> RecordLocation? {
        if start.seq <= bound { return start }
        var found: RecordLocation?
        try view.walkChain(of: event, from: start) { (location, _) throws(LogError) in
            if location.seq <= bound {
                found = location
                return false
            }
            return true
        }
        return found
    }

    /// The history of `event`, oldest first: records with `since <= timestamp <= until`
    /// and seq above `after`, at most `limit` of them. Nil when `event` was never
    /// appended. Reads only that event's frames, following its name chain.
    public func history(
        of event: String, since: Int64? = nil, until: Int64? = nil, after: UInt64? = nil, limit: Int? = nil
    ) throws(LogError) -> [Record]? {
        let (view, start) = state.withLock { state in
            (state.readView, state.latest[event])
        }
        guard let start else { return nil }
        var matches: [RecordLocation] = []
        try view.walkChain(of: event, from: start) { (location, timestamp) throws(LogError) in
            if let after, location.seq <= after { return false }
            if let since, timestamp < since { return false }  // timestamps never decrease with seq
            if location.seq <= view.visibleSeq, until.map({ timestamp <= $0 }) ?? true { matches.append(location) }
            return true
        }
        if start.seq > view.visibleSeq, matches.isEmpty, try Self.newest(of: event, from: start, upTo: view.visibleSeq, in: view) == nil {
            return nil  // its only records are not visible yet
        }
        var records: [Record] = []
        for location in matches.reversed().prefix(limit ?? .max) { records.append(try view.record(at: location)) }
        return records
    }

    /// The last visible seq whose record was stamped at or before `timestamp` (ms since
    /// the epoch); 0 when there is none. Timestamps never decrease in seq order, so this
    /// is a binary search over the segments' first records, then over the segment's
    /// sparse offset index, then a forward read of at most about 4 KiB of frame heads.
    public func lastSeq(atOrBefore timestamp: Int64) throws(LogError) -> UInt64 {
        let view = readView()
        return min(try view.lastSeq(atOrBefore: timestamp), view.visibleSeq)
    }

    /// Every visible record with seq at or above `from`, in order, across segments.
    public func read(from seq: UInt64) -> LogCursor {
        LogCursor(view: readView(), from: seq)
    }
}

/// Reads records in seq order across segments, up to the seq that was visible when
/// it was made. Not thread-safe: use it from one task.
public final class LogCursor {
    private let walker: LogWalker<FailOnDamage>
    private let visibleSeq: UInt64
    private var nextSeq: UInt64

    init(view: ReadView, from seq: UInt64) {
        let first = max(seq, 1)
        let position = view.segments.lastIndex { $0.baseSeq <= first } ?? 0
        var spans: [LogWalker<FailOnDamage>.Span] = []
        for (index, segment) in view.segments.enumerated().dropFirst(position) {
            // The first segment is entered at the sparse index's entry for `first`.
            let start = index == position ? segment.offsets.floor(first) : nil
            spans.append(.init(segment.reader, from: start?.offset ?? SegmentHeader.size, expectedSeq: start?.seq, readAhead: 64 << 10))
        }
        // Visible records are whole batches: no read-ahead for batch ends.
        self.walker = LogWalker(spans, policy: FailOnDamage(), checkContinuity: false, checkBatches: false)
        self.visibleSeq = view.visibleSeq
        self.nextSeq = first
    }

    /// The last seq this cursor will return.
    public var endSeq: UInt64 { visibleSeq }

    /// The next record, or nil after the last visible one.
    public func next() throws(LogError) -> Record? {
        while nextSeq <= visibleSeq, let item = try walker.next() {
            guard case .frame(let frame, let offset, let segment) = item, frame.seq >= nextSeq else { continue }
            nextSeq = frame.seq + 1
            do { return try frame.record() } catch {
                throw .corrupt(segment: segment.path, offset: offset, problem: error)
            }
        }
        return nil
    }
}
