import ArgumentParser
import BrokerLog

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

    func matches(_ frame: FrameView) -> Bool {
        if let fromSeq, frame.seq < fromSeq { return false }
        if let since, frame.timestamp < since { return false }
        if let until, frame.timestamp > until { return false }
        if !events.isEmpty, !events.contains(frame.event) { return false }
        return true
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
