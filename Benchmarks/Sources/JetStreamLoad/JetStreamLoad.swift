// The reference of `make load-cluster`: raw JetStream publishing with
// acknowledgements, through BrokerNATS, the client the fronts use: CONCURRENCY
// publishes in flight on one connection (as a front has), the same 200-byte
// records on 1,000 subjects, into a stream of its own with the same settings as
// Broker's (3 replicas, file storage).
//
//   JetStreamLoad NATS_URLS [CONCURRENCY] [SECONDS]
import BrokerNATS
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

@main
enum JetStreamLoad {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let urls = arguments.first, case .success(let servers) = NATSServerAddress.parseList(urls) else {
            print("usage: JetStreamLoad NATS_URLS [CONCURRENCY] [SECONDS]")
            exit(2)
        }
        let concurrency = arguments.count > 1 ? Int(arguments[1]) ?? 32 : 32
        let seconds = arguments.count > 2 ? Int(arguments[2]) ?? 10 : 10
        let client = NATSClient(options: .init(servers: servers, name: "jetstream-load"), logger: Logger(label: "load"))
        client.start()
        guard await client.waitUntilConnected(timeout: .seconds(10)) else {
            print("no NATS server answered")
            exit(1)
        }
        let jetStream = JetStream(client: client)
        if try await jetStream.streamInfo("RAWLOAD") == nil {
            var configuration = StreamConfiguration(name: "RAWLOAD", subjects: ["RAWLOAD.>"], replicas: 3, duplicateWindow: .seconds(120))
            configuration.allowDirect = true
            _ = try await jetStream.createStream(configuration)
        }
        let pad = String(repeating: "x", count: 150)
        let payloads = (0..<1000).map { Array(#"{"n":\#($0),"pad":"\#(pad)"}"#.utf8) }
        let acknowledged = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var next = worker
                    while ContinuousClock.now < deadline {
                        do {
                            _ = try await jetStream.publish("RAWLOAD.load-\(next % 1000)", payload: payloads[next % 1000])
                            acknowledged.add(1, ordering: .relaxed)
                        } catch {
                            failed.add(1, ordering: .relaxed)
                        }
                        next += concurrency
                    }
                }
            }
        }
        let elapsed = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        let count = acknowledged.load(ordering: .relaxed)
        print(
            "raw JetStream publish with ack: \(count) acknowledged (\(failed.load(ordering: .relaxed)) failed) in \(elapsed) s: \(Int(Double(count) / elapsed)) publishes/s"
        )
        await client.close()
    }
}
