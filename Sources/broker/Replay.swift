import ArgumentParser
import BrokerJSON
import BrokerLog
import BrokerStore

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
        let (walker, _) = try toolWalk(path, policy: StopAtDamage())
        let output = Output()
        var progress = Progress("replay")
        var state: [String: Record] = [:]
        var line: [UInt8] = []
        walk: while let item = try walker.next() {
            guard case .frame(let frame, let offset, let segment) = item else { continue }
            progress.show("seq \(frame.seq)")
            if let asOf {
                // Timestamps never decrease with seq: nothing later can be as of T.
                guard frame.timestamp <= asOf else { break walk }
                guard filter.matchesName(frame.event) else { continue }
                let record = try Self.record(frame, offset, segment)
                state[record.event] = record
                continue
            }
            guard filter.matches(frame) else { continue }
            let record = try Self.record(frame, offset, segment)
            line.removeAll(keepingCapacity: true)
            JSONWriter.appendRecord(record, to: &line, checkingData: true)
            line.append(UInt8(ascii: "\n"))
            output.write(line)
        }
        progress.finish()
        for record in state.values.sorted(by: { $0.seq < $1.seq }) {
            line.removeAll(keepingCapacity: true)
            JSONWriter.appendRecord(record, to: &line, checkingData: true)
            line.append(UInt8(ascii: "\n"))
            output.write(line)
        }
        output.flush()
    }

    /// Replay's policy: an audit must not skip records silently, so damage stops it
    /// with an error naming segment and offset. The incomplete end of a log being
    /// written is where it stops quietly.
    struct StopAtDamage: DamagePolicy {
        func handle(_ damage: Damage) throws(LogError) -> DamageAction {
            guard case .incompleteTail = damage.kind else { throw LogError(damage) }
            return .stop
        }
    }

    static func record(_ frame: FrameView, _ offset: Int, _ segment: SegmentReader) throws -> Record {
        do throws(FrameProblem) {
            return try frame.record()
        } catch {
            throw ToolError(Damage(segment: segment.path, offset: offset, problem: error).description)
        }
    }
}
