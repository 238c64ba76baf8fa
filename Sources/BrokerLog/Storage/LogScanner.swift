/// Reads a whole log read-only, in order, for the offline tools: a data directory's
/// segments or one segment file. It checks what recovery checks (headers, frames,
/// seq continuity within and across segments, the name chain) but changes nothing
/// and takes no lock, so it can read a log a server is writing: a frame cut short
/// at the end of the newest segment is reported as a write in progress, not damage.
public struct LogScanner {
    /// What the scanner found, in file order.
    public enum Item {
        /// A segment whose header is sound; its frames follow.
        case segment(SegmentReader, isNewest: Bool)
        /// A valid frame.
        case frame(FrameView, offset: Int, segment: SegmentReader)
        /// A damaged header or frame, or a gap between segments. Scanning goes on where
        /// the format allows (past a frame whose length is plausible; else the next segment).
        case damage(segment: String, offset: Int, problem: String)
        /// The newest segment ends with `bytes` of an incomplete frame: a write in progress
        /// (or a torn tail the next open will cut).
        case incompleteTail(segment: String, offset: Int, bytes: Int)
        /// The end of a segment's frames.
        case segmentEnd(SegmentReader, records: Int)
    }

    public let paths: [String]
    /// True when `path` was a directory (so seq continuity across files is checked).
    public let isDirectory: Bool

    /// The segments at `path`: a data directory, or a single segment file.
    public init(path: String) throws(LogError) {
        switch PathKind.of(path) {
        case .missing:
            throw .notALog(path: path, reason: "no such file or directory")
        case .file:
            paths = [path]
            isDirectory = false
        case .directory:
            let segments = try SegmentFileName.list(in: path)
            guard !segments.isEmpty else {
                throw .notALog(path: path, reason: "not a Broker data directory (it has no .seg files)")
            }
            paths = segments.map(\.path)
            isDirectory = true
        }
    }

    /// Visits everything in order. With `checkChain`, also checks each record's link
    /// to the previous record of its name (memory grows with the number of names),
    /// up to the first damage: links into skipped bytes cannot be checked.
    public func scan(checkChain: Bool = false, _ visit: (Item) throws -> Void) throws {
        var expectedBase: UInt64?
        var chain: NameChain?
        var chainBroken = false
        for (index, path) in paths.enumerated() {
            let isNewest = index == paths.count - 1
            let segment: SegmentReader
            switch Result(catching: { () throws(LogError) in try SegmentReader(path: path) }) {
            case let .success(opened):
                segment = opened
            case let .failure(.corrupt(_, offset, problem)):
                if !isDirectory, problem == .badMagic || problem.isShort && offset == 0 {
                    throw LogError.notALog(path: path, reason: "not a Broker segment file (\(problem))")
                }
                try visit(.damage(segment: path, offset: offset, problem: problem.description))
                expectedBase = nil
                chain = nil
                chainBroken = true
                continue
            case let .failure(error):
                throw error
            }
            if let expected = expectedBase, isDirectory, segment.header.baseSeq != expected {
                try visit(.damage(segment: path, offset: 0, problem: "starts at seq \(segment.header.baseSeq) but seq \(expected) was expected (a segment is missing or misnamed)"))
            }
            if checkChain, chain == nil, !chainBroken { chain = NameChain(firstBaseSeq: segment.header.baseSeq) }
            try visit(.segment(segment, isNewest: isNewest))
            let frames = segment.frames()
            var records = 0
            var lastSeq = segment.header.baseSeq - 1
            while let item = try frames.next() {
                switch item {
                case let .frame(frame, offset):
                    records += 1
                    lastSeq = frame.seq
                    if let problem = chain?.note(frame, at: offset) {
                        try visit(.damage(segment: path, offset: offset, problem: problem.description))
                    }
                    try visit(.frame(frame, offset: offset, segment: segment))
                case let .damage(offset, problem):
                    // A frame cut short always runs to the end of the file.
                    if isNewest, problem.isShort {
                        try visit(.incompleteTail(segment: path, offset: offset, bytes: frames.limit - offset))
                        _ = try frames.skipDamage()
                    } else {
                            try visit(.damage(segment: path, offset: offset, problem: problem.description))
                        // Links into skipped bytes cannot be checked: stop checking them.
                        chain = nil
                        chainBroken = true
                        if !(try frames.skipDamage()) { break }
                    }
                }
            }
            try visit(.segmentEnd(segment, records: records))
            expectedBase = lastSeq + 1
        }
    }
}
