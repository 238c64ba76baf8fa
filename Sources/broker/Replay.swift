import ArgumentParser
import BrokerJSON
import BrokerLog

/// `broker replay PATH`: history as JSON lines for audits, or the state at a time.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream history in seq order as JSON lines, or with --as-of the latest record of each event at a time.")

    @Argument(help: "A data directory or a .seg file.")
    var path: String
    @Option(name: .customLong("as-of"), help: "Print the latest record of each event with timestamp <= this (ms since the Unix epoch) instead.")
    var asOf: Int64?
    @Flag(help: "One JSON object a line (the only output form; accepted for symmetry with dump).")
    var json = false
    @OptionGroup var filter: RecordFilter

    func validate() throws {
        if asOf != nil, filter.since != nil || filter.until != nil || filter.fromSeq != nil {
            throw ValidationError("--as-of combines only with --event")
        }
    }

    func run() throws {
        let scanner = try LogScanner.forTool(path)
        let output = Output()
        var progress = Progress("replay")
        var state: [String: Record] = [:]
        var line: [UInt8] = []
        do {
        try scanner.scan { item in
            switch item {
            case let .frame(frame, offset, segment):
                progress.show("seq \(frame.seq)")
                let record: Record
                if let asOf {
                    // Timestamps never decrease with seq: nothing later can be as of T.
                    guard frame.timestamp <= asOf else { throw StopScan() }
                    guard filter.events.isEmpty || filter.events.contains(frame.event) else { return }
                    record = try Self.record(frame, offset, segment)
                    state[record.event] = record
                    return
                }
                guard filter.matches(frame) else { return }
                record = try Self.record(frame, offset, segment)
                line.removeAll(keepingCapacity: true)
                JSONWriter.appendRecord(record, to: &line)
                line.append(UInt8(ascii: "\n"))
                output.write(line)
            case let .damage(segment, offset, problem):
                output.flush()
                throw ToolError("\(segment): damaged at byte offset \(offset): \(problem)")
            case .segment, .segmentEnd, .incompleteTail:
                break
            }
        }
        } catch is StopScan {}
        progress.finish()
        for record in state.values.sorted(by: { $0.seq < $1.seq }) {
            line.removeAll(keepingCapacity: true)
            JSONWriter.appendRecord(record, to: &line)
            line.append(UInt8(ascii: "\n"))
            output.write(line)
        }
        output.flush()
    }

    static func record(_ frame: FrameView, _ offset: Int, _ segment: SegmentReader) throws -> Record {
        do {
            return try frame.record()
        } catch {
            throw ToolError("\(segment.path): damaged at byte offset \(offset): \(error)")
        }
    }
}

/// Ends a scan early without an error.
struct StopScan: Error {}
