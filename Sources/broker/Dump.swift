import ArgumentParser
import BrokerJSON
import BrokerLog

/// `broker dump PATH`: every segment header and record, for a person or as JSON lines.
struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the segments and records of a data directory or one segment file.")

    @Argument(help: "A data directory or a .seg file.")
    var path: String
    @Flag(help: "One JSON object a line instead of aligned text.")
    var json = false
    @Flag(help: "Only totals per segment and per event: records, bytes, compression ratio.")
    var stats = false
    @OptionGroup var filter: RecordFilter

    func run() throws {
        let output = Output()
        var printer: any DumpPrinter
        if stats {
            printer = StatsPrinter(output: output, json: json)
        } else if json {
            printer = JSONDumpPrinter(output: output)
        } else {
            printer = TextDumpPrinter(output: output)
        }
        let (walker, _) = try toolWalk(path, policy: PrintAndGoOn(printer: printer))
        var progress = Progress("dump")
        var batches = BatchTracker()
        var printedInBatch = false
        while let item = try walker.next() {
            switch item {
            case .segment(let segment, let isNewest):
                walker.policy.printer.segment(segment, isNewest: isNewest, records: try Self.countRecords(segment))
            case .frame(let frame, let offset, let segment):
                progress.show("\(segment.path.split(separator: "/").last ?? "") \(Formatting.bytes(offset + frame.frameSize))")
                if filter.matches(frame) {
                    walker.policy.printer.record(frame, offset: offset, segment: segment)
                    printedInBatch = true
                }
                if let batch = batches.note(frame) {
                    if printedInBatch { walker.policy.printer.batch(batch) }
                }
                if !frame.continuesBatch { printedInBatch = false }
            case .segmentEnd:
                break
            }
        }
        progress.finish()
        walker.policy.printer.finish()
        output.flush()
    }

    /// Dump's policy: print the damage and go on.
    struct PrintAndGoOn: DamagePolicy {
        var printer: any DumpPrinter

        mutating func handle(_ damage: Damage) -> DamageAction {
            printer.damage(damage)
            return .skip
        }
    }

    /// Valid frames in a segment (for its header line): a quick pass that checks CRCs
    /// only, skipping damage as the dump itself does.
    static func countRecords(_ segment: SegmentReader) throws -> Int {
        let walker = LogWalker([.init(segment)], policy: SkipDamage())
        var count = 0
        while let item = try walker.next() {
            if case .frame = item { count += 1 }
        }
        return count
    }
}

/// How `dump` prints what the scanner finds.
protocol DumpPrinter {
    mutating func segment(_ segment: SegmentReader, isNewest: Bool, records: Int)
    mutating func record(_ frame: FrameView, offset: Int, segment: SegmentReader)
    mutating func damage(_ damage: Damage)
    /// After the last record of a batch of several records or with a key.
    mutating func batch(_ batch: BatchSummary)
    mutating func finish()
}

/// The data of a frame as JSON text; else, when it decompresses but is not JSON (a
/// library user may store any bytes), its bytes; and why it is not JSON.
func jsonData(_ frame: FrameView) -> (text: [UInt8]?, bytes: [UInt8]?, problem: String?) {
    let data: [UInt8]
    do { data = try frame.data() } catch { return (nil, nil, "\(error)") }
    if JSONCompactor.isJSON(data) { return (data, data, nil) }
    return (nil, data, "data is not JSON (\(data.count) bytes)")
}

struct TextDumpPrinter: DumpPrinter {
    let output: Output

    mutating func segment(_ segment: SegmentReader, isNewest: Bool, records: Int) {
        let header = segment.header
        output.line("")
        output.line("segment \(segment.path)")
        output.line(
            "  version \(header.version)  base seq \(header.baseSeq)  created \(Formatting.iso8601(milliseconds: header.createdMs))"
                + "  \(isNewest ? "active" : "sealed")  \(segment.fileSize) bytes  \(records) records")
        output.line(
            "  " + Formatting.right("seq", 10) + "  " + Formatting.column("timestamp", 24) + "  " + Formatting.right("ms", 13)
                + "  " + Formatting.column("event", 20) + "  " + Formatting.right("stored", 8) + "  " + Formatting.right("size", 8)
                + "  " + Formatting.column("codec", 5) + "  data")
    }

    mutating func record(_ frame: FrameView, offset: Int, segment: SegmentReader) {
        let (data, _, problem) = jsonData(frame)
        output.write(
            "  " + Formatting.right(String(frame.seq), 10) + "  " + Formatting.column(Formatting.iso8601(milliseconds: frame.timestamp), 24)
                + "  " + Formatting.right(String(frame.timestamp), 13) + "  " + Formatting.column(frame.event, 20)
                + "  " + Formatting.right(String(frame.payload.count), 8) + "  " + Formatting.right(String(frame.dataLength), 8)
                + "  " + Formatting.column(frame.codec.description, 5) + "  ")
        if let data { output.write(data) } else { output.write("!! \(problem ?? "")") }
        output.line("")
    }

    mutating func damage(_ damage: Damage) {
        switch damage.kind {
        case .corrupt:
            output.line("  !! \(damage)")
        case .incompleteTail(let bytes):
            output.line(
                "  .. \(damage.segment): byte offset \(damage.offset): \(bytes) bytes of an incomplete \(damage.problem.isIncompleteBatch ? "batch" : "record") (a write in progress, or a torn tail)"
            )
        }
    }

    mutating func batch(_ batch: BatchSummary) {
        let range = batch.records == 1 ? "seq \(batch.firstSeq)" : "seq \(batch.firstSeq) to \(batch.lastSeq)"
        let key = batch.key.map { ", idempotency key \(JSONWriter.quoted($0.description))" } ?? ""
        output.line("  -- batch: \(range) (\(batch.records) record\(batch.records == 1 ? "" : "s"))\(key)")
    }

    mutating func finish() {}
}

struct JSONDumpPrinter: DumpPrinter {
    let output: Output

    /// One line: an object whose first member is `"type"` (SPEC.md 5.2).
    private func line(_ type: String, _ members: (inout JSONObjectWriter) -> Void) {
        var object = JSONObjectWriter()
        object.add("type", type)
        members(&object)
        output.write(object.json)
        output.line("")
    }

    mutating func segment(_ segment: SegmentReader, isNewest: Bool, records: Int) {
        let header = segment.header
        line("segment") {
            $0.add("path", segment.path)
            $0.add("version", header.version)
            $0.add("baseSeq", header.baseSeq)
            $0.add("created", header.createdMs)
            $0.add("createdTime", Formatting.iso8601(milliseconds: header.createdMs))
            $0.add("state", isNewest ? "active" : "sealed")
            $0.add("bytes", segment.fileSize)
            $0.add("records", records)
        }
    }

    mutating func record(_ frame: FrameView, offset: Int, segment: SegmentReader) {
        let (data, bytes, problem) = jsonData(frame)
        line("record") {
            $0.add("seq", frame.seq)
            $0.add("timestamp", frame.timestamp)
            $0.add("time", Formatting.iso8601(milliseconds: frame.timestamp))
            $0.add("event", frame.event)
            $0.add("storedBytes", frame.payload.count)
            $0.add("dataBytes", frame.dataLength)
            $0.add("codec", frame.codec.description)
            $0.add("segment", segment.path)
            $0.add("offset", offset)
            if let data {
                $0.add("data", json: data)
                return
            }
            if let bytes {
                var base64 = [UInt8(ascii: "\"")]
                JSONWriter.appendBase64(bytes, to: &base64)
                base64.append(UInt8(ascii: "\""))
                $0.add("dataBase64", json: base64)
            }
            $0.add("dataProblem", problem ?? "")
        }
    }

    mutating func damage(_ damage: Damage) {
        let incompleteBytes: Int? = if case .incompleteTail(let bytes) = damage.kind { bytes } else { nil }
        line(incompleteBytes == nil ? "damage" : "incomplete") {
            $0.add("segment", damage.segment)
            $0.add("offset", damage.offset)
            if let incompleteBytes { $0.add("bytes", incompleteBytes) }
            $0.add("problem", damage.problem.description)
        }
    }

    mutating func batch(_ batch: BatchSummary) {
        line("batch") {
            $0.add("firstSeq", batch.firstSeq)
            $0.add("lastSeq", batch.lastSeq)
            $0.add("records", batch.records)
            if let key = batch.key { $0.add("idempotencyKey", key.description) }
        }
    }

    mutating func finish() {}
}

/// `dump --stats`: totals per segment and per event.
struct StatsPrinter: DumpPrinter {
    struct Totals {
        var records = 0
        var stored = 0
        var raw = 0
        var ratio: String { stored == 0 ? "-" : String((Double(raw) / Double(stored) * 100).rounded() / 100) }
    }

    let output: Output
    let json: Bool
    private var segments: [(String, Totals)] = []
    private var events: [String: Totals] = [:]
    private var damaged = 0

    init(output: Output, json: Bool) {
        self.output = output
        self.json = json
    }

    mutating func segment(_ segment: SegmentReader, isNewest: Bool, records: Int) {
        segments.append((segment.path, Totals()))
    }

    mutating func record(_ frame: FrameView, offset: Int, segment: SegmentReader) {
        segments[segments.count - 1].1.records += 1
        segments[segments.count - 1].1.stored += frame.payload.count
        segments[segments.count - 1].1.raw += frame.dataLength
        events[frame.event, default: Totals()].records += 1
        events[frame.event, default: Totals()].stored += frame.payload.count
        events[frame.event, default: Totals()].raw += frame.dataLength
    }

    mutating func damage(_ damage: Damage) {
        if damage.kind == .corrupt { damaged += 1 }
    }

    mutating func batch(_ batch: BatchSummary) {}

    mutating func finish() {
        let byName = events.sorted { $0.key < $1.key }
        if json {
            for (path, totals) in segments { output.line(Self.json("segment", "path", path, totals)) }
            for (name, totals) in byName { output.line(Self.json("event", "event", name, totals)) }
            return
        }
        output.line(Formatting.column("segment", 60) + Self.header)
        for (path, totals) in segments { output.line(Formatting.column(path, 60) + Self.row(totals)) }
        output.line("")
        output.line(Formatting.column("event", 60) + Self.header)
        for (name, totals) in byName { output.line(Formatting.column(name, 60) + Self.row(totals)) }
        if damaged > 0 { output.line("\n\(damaged) damaged frame(s) or header(s) were skipped") }
    }

    static let header = Formatting.right("records", 10) + Formatting.right("stored", 14) + Formatting.right("data", 14) + Formatting.right("ratio", 8)

    static func row(_ totals: Totals) -> String {
        Formatting.right(String(totals.records), 10) + Formatting.right(String(totals.stored), 14)
            + Formatting.right(String(totals.raw), 14) + Formatting.right(totals.ratio, 8)
    }

    static func json(_ type: String, _ member: String, _ name: String, _ totals: Totals) -> String {
        var object = JSONObjectWriter()
        object.add("type", type)
        object.add(member, name)
        object.add("records", totals.records)
        object.add("storedBytes", totals.stored)
        object.add("dataBytes", totals.raw)
        return String(decoding: object.json, as: UTF8.self)
    }
}
