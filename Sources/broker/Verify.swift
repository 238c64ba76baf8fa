import ArgumentParser
import BrokerLog

/// `broker verify PATH`: checks every header, frame, CRC, payload, seq and name link.
/// Never writes.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every segment header, frame and CRC of a data directory or segment file.",
        discussion: "Exit 0 with a one-line summary when sound; exit 1 listing each problem's segment and byte offset.")

    @Argument(help: "A data directory or a .seg file.")
    var path: String

    func run() throws {
        let started = ContinuousClock.now
        let output = Output()
        let (walker, isDirectory) = try toolWalk(path, policy: CountAndReport(output: output), checkChain: true, checkTimestamps: true)
        var progress = Progress("verify")
        var segments = 0
        var records = 0
        var bytes = 0
        while let item = try walker.next() {
            switch item {
            case .segment(let segment, _):
                segments += 1
                bytes += segment.fileSize
            case .frame(let frame, let offset, let segment):
                records += 1
                progress.show("\(records) records, \(Formatting.bytes(bytes))")
                do throws(FrameProblem) {
                    _ = try frame.data()
                } catch {
                    _ = walker.policy.handle(Damage(segment: segment.path, offset: offset, problem: error))
                }
            case .segmentEnd:
                break
            }
        }
        progress.finish()
        var problems = walker.policy.problems
        if isDirectory, !checkpointIsSound(output) { problems += 1 }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let summary = "\(segments) segment(s), \(records) record(s), \(Formatting.bytes(bytes)) in \(String(format3(seconds))) s"
        if problems == 0 {
            output.line("OK: \(summary)")
            output.flush()
        } else {
            output.line("FAILED: \(problems) problem(s); \(summary)")
            output.flush()
            throw ExitCode(1)
        }
    }

    /// Verify's policy: every damage is a problem line and goes on; an incomplete tail of
    /// the newest segment is only a note, since the next open cuts it (or, for a
    /// segment torn while it was created, gives it a fresh header).
    struct CountAndReport: DamagePolicy {
        let output: Output
        var problems = 0

        mutating func handle(_ damage: Damage) -> DamageAction {
            switch damage.kind {
            case .corrupt:
                problems += 1
                output.line(damage.description)
            case .incompleteTail(let bytes):
                printError(
                    "note: \(damage.segment): byte offset \(damage.offset): \(bytes) bytes of an incomplete record (a write in progress, or a torn tail the next open cuts): \(damage.problem)"
                )
            }
            return .skip
        }
    }
}

extension Verify {
    /// Reports what the directory's checkpoint holds against its segments; false
    /// only when the next open would use a checkpoint that disagrees with them.
    func checkpointIsSound(_ output: Output) -> Bool {
        let outcome: CheckpointAudit.Outcome
        do { outcome = try CheckpointAudit.run(directory: path) } catch {
            printError("note: CHECKPOINT not checked: \(error)")
            return true
        }
        switch outcome {
        case .absent:
            return true
        case .consistent(let lastSeq, let segments, let names):
            output.line("CHECKPOINT: matches the segments up to seq \(lastSeq) (\(segments) segment(s), \(names) name(s))")
        case .ignored(let reason):
            printError("note: the next open ignores CHECKPOINT and reads every segment: \(reason)")
        case .unchecked(let reason):
            printError("note: CHECKPOINT not compared, a segment it covers is damaged: \(reason)")
        case .inconsistent(let difference):
            output.line("CHECKPOINT: differs from the segments, and the next open would use it: \(difference)")
            return false
        }
        return true
    }
}

/// Three decimals.
func format3(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    return "\(thousandths / 1000).\(Formatting.pad(thousandths % 1000, 3))"
}
