// A child process for the crash tests: appends under fsync `always` from several
// tasks and prints `ack <seq> <writer> <n>` for every acknowledged record, until it
// is killed. Usage: broker-crash-writer DIRECTORY [WRITERS]
import BrokerLog

#if canImport(Glibc)
    import Glibc
#endif

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
await withTaskGroup(of: Void.self) { group in
    for writer in 0..<writers {
        group.addTask {
            var n = 0
            while true {
                let data = Array(#"{"w":\#(writer),"n":\#(n),"pad":"\#(String(repeating: "p", count: 50 + (n % 200)))"}"#.utf8)
                guard let record = try? await log.append(event: "w\(writer)", data: data) else { exit(3) }
                say("ack \(record.seq) \(writer) \(n)")
                n += 1
            }
        }
    }
}
