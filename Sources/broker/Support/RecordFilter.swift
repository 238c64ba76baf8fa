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

extension LogScanner {
    /// Opens `path` for a tool, turning a bad path into a clear command-line error.
    static func forTool(_ path: String) throws -> LogScanner {
        do {
            return try LogScanner(path: path)
        } catch {
            throw ToolError("\(error)")
        }
    }
}

/// A failure the tools report as `Error: …` with exit status 1.
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
