// A driver for profiling (valgrind --tool=callgrind): builds a log of N records in a
// directory if it is empty, or opens it and reports how long the open took.
// Usage: ProfileOpen DIRECTORY [RECORDS]
import BrokerLog
import BrokerStore
import Foundation

let arguments = CommandLine.arguments
let directory = arguments[1]
var options = LogOptions(compression: true, durability: .never)
options.logger.logLevel = .critical
let exists = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.contains { $0.hasSuffix(".seg") } ?? false
if !exists {
    let records = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000
    let log = try EventLog.open(directory: directory, options: options)
    for start in stride(from: 0, to: records, by: 1000) {
        let batch = (start..<min(records, start + 1000)).map { n in
            AppendEntry(
                event: "event-\(n % 1000)",
                data: Array(
                    #"{"id":\#(n),"user":"user-\#(n % 977)","action":"update","amount":\#(n % 10_000).25,"tags":["a","b","c"],"note":"\#(String(repeating: "x", count: 90))"}"#
                        .utf8))
        }
        _ = try await log.append(batch)
    }
    await log.close()
    print("built \(records) records")
} else {
    let started = ContinuousClock.now
    let log = try EventLog.open(directory: directory, options: options)
    print("opened \(log.lastSeq) records in \(ContinuousClock.now - started)")
    await log.close()
}
