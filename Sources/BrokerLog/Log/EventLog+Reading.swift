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

    /// The latest record of every event name as of seq `upTo` (default: the last
    /// visible seq), in seq order.
    public func latest(upTo: UInt64? = nil) throws(LogError) -> [Record] {
        let (view, index) = state.withLock { state in
            (state.readView, state.latest)
        }
        let bound = min(upTo ?? view.visibleSeq, view.visibleSeq)
        var locations: [RecordLocation] = []
        locations.reserveCapacity(index.count)
        try index.forEach { (event, start) throws(LogError) in
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
        self.walker = LogWalker(spans, policy: FailOnDamage(), checkContinuity: false)
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
