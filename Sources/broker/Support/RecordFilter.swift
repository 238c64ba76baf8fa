import ArgumentParser
import BrokerLog
import BrokerStore

/// The record filters `dump` and `replay` share.
struct RecordFilter: ParsableArguments {
    @Option(name: .customLong("event"), help: "Only this event name (repeatable).")
    var events: [String] = []
    @Option(help: "Only records with timestamp >= this (ms since the Unix epoch).")
    var since: Int64?
    @Option(help: "Only records with timestamp <= this (ms since the Unix epoch).")
    var until: Int64?
    @Option(name: .customLong("from-seq"), help: "Only records with seq >= this.")
    var fromSeq: UInt64?
    @Option(name: .customLong("prefix"), help: "Only event names starting with this (repeatable; with --event, either matches).")
    var prefixes: [String] = []

    func matches(_ frame: FrameView) -> Bool {
        if let fromSeq, frame.seq < fromSeq { return false }
        if let since, frame.timestamp < since { return false }
        if let until, frame.timestamp > until { return false }
        return matchesName(frame.event)
    }

    /// The name filters alone: `--event` and `--prefix`, either matching.
    func matchesName(_ event: String) -> Bool {
        if events.isEmpty, prefixes.isEmpty { return true }
        return events.contains(event) || prefixes.contains { event.hasPrefix($0) }
    }
}

/// A batch of more than one record, or with an idempotency key, as `dump` shows it
/// once its last record is read (SPEC.md 5.2).
struct BatchSummary {
    var firstSeq: UInt64
    var lastSeq: UInt64
    var key: IdempotencyKey?
    var records: UInt64 { lastSeq - firstSeq + 1 }
}

/// Follows batch boundaries through a walk, which hands over only whole batches.
struct BatchTracker {
    private var open: BatchSummary?

    /// The batch `frame` ends, when it ends one worth showing.
    mutating func note(_ frame: FrameView) -> BatchSummary? {
        if open == nil { open = BatchSummary(firstSeq: frame.seq, lastSeq: frame.seq, key: frame.key) }
        open?.lastSeq = frame.seq
        guard !frame.continuesBatch, let batch = open else { return nil }
        open = nil
        return batch.records > 1 || batch.key != nil ? batch : nil
    }
}

/// The walk of `path` a tool makes (SPEC.md 5.2) with its damage policy; a bad path is
/// a clear command-line error.
func toolWalk<Policy: DamagePolicy>(
    _ path: String, policy: Policy, checkChain: Bool = false, checkTimestamps: Bool = false
) throws -> (walker: LogWalker<Policy>, isDirectory: Bool) {
    do {
        let (spans, isDirectory) = try LogWalker<Policy>.Span.forTool(path)
        return (LogWalker(spans, policy: policy, checkChain: checkChain, checkTimestamps: checkTimestamps), isDirectory)
    } catch {
        throw ToolError("\(error)")
    }
}

/// A failure the tools report as `Error: …` with exit status 1.
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
