// A child process for the crash tests: appends under fsync `always` from several
// tasks until it is killed, and prints a line for everything acknowledged:
// - writers 0 and 1 append single records: `ack <seq> <writer> <n>`;
// - the others append batches of 1 to 7 records with the idempotency key
//   `w<writer>-<n>`: `batch <firstSeq> <count> <writer> <n>`;
// - two more tasks increment `counter` by read-modify-write with an expected seq:
//   `counter <seq> <value>`.
// Usage: broker-crash-writer DIRECTORY [WRITERS]
import BrokerLog
import BrokerStore
import Glibc

func say(_ line: String) {
    var text = line + "\n"
    // One write(2) per line: lines below PIPE_BUF never interleave or tear.
    text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    say("usage: broker-crash-writer DIRECTORY [WRITERS]")
    exit(2)
}
let writers = arguments.count > 2 ? Int(arguments[2]) ?? 4 : 4
var options = LogOptions(compression: true, durability: .always, segmentBytes: 64 << 10)
options.logger.logLevel = .critical
let log: EventLog
do {
    log = try EventLog.open(directory: arguments[1], options: options)
} catch {
    say("error \(error)")
    exit(1)
}
say("ready \(log.lastSeq)")
/// The batch writer `writer` appends as its `n`th, with its key: the crash test rebuilds
/// it to check that the key is known after the crash.
func keyedBatch(writer: Int, n: Int) -> ([AppendEntry], IdempotencyKey) {
    let count = 1 + n % 7
    let entries = (0..<count).map { index in
        AppendEntry(
            event: "w\(writer)",
            data: Array(#"{"w":\#(writer),"n":\#(n),"i":\#(index),"c":\#(count),"pad":"\#(String(repeating: "p", count: 50 + (n % 200)))"}"#.utf8))
    }
    return (entries, IdempotencyKey("w\(writer)-\(n)", requestDigest: UInt64(writer) << 32 | UInt64(n))!)
}

await withTaskGroup(of: Void.self) { group in
    for writer in 0..<writers {
        group.addTask {
            var n = 0
            while true {
                if writer < 2 {
                    let data = Array(#"{"w":\#(writer),"n":\#(n),"pad":"\#(String(repeating: "p", count: 50 + (n % 200)))"}"#.utf8)
                    guard let record = try? await log.append(event: "w\(writer)", data: data) else { exit(3) }
                    say("ack \(record.seq) \(writer) \(n)")
                } else {
                    let (entries, key) = keyedBatch(writer: writer, n: n)
                    guard let result = try? await log.append(entries, idempotencyKey: key) else { exit(3) }
                    say("batch \(result.records[0].seq) \(result.records.count) \(writer) \(n)")
                }
                n += 1
            }
        }
    }
    for _ in 0..<2 {
        group.addTask {
            while true {
                let current: Record?
                do { current = try log.latest(of: "counter") } catch { exit(3) }
                let value = current.map { Int(String(decoding: $0.data, as: UTF8.self)) ?? -1 } ?? -1
                do {
                    let stored = try await log.append([
                        AppendEntry(event: "counter", data: Array("\(value + 1)".utf8), expectedSeq: current?.seq ?? 0)
                    ])
                    say("counter \(stored[0].seq) \(value + 1)")
                } catch {
                    guard case LogError.seqConflict = error else { exit(3) }
                }
            }
        }
    }
}
