import ArgumentParser
import NIOCore
import NIOPosix

struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "An event log with a real-time HTTP/SSE front.",
        subcommands: [Serve.self, Dump.self, Verify.self, Replay.self])
}

@main
enum Entrypoint {
    static func main() async {
        // Tasks then run on the server's NIO event loops instead of hopping to Swift's
        // own thread pool and back for every request (README Performance: +N% inserts/s).
        let tookOver = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        FileHandleStderr.write("takeover \(tookOver)\n")
        await BrokerCommand.main()
    }
}
import Glibc
enum FileHandleStderr { static func write(_ s: String) { var b = Array(s.utf8); _ = Glibc.write(2, &b, b.count) } }
