// The reference of `make load-cluster`: raw JetStream publishing with
// acknowledgements, through BrokerNATS, the client the fronts use: CONCURRENCY
// publishes in flight on one connection (as a front has), the same 200-byte
// records on 1,000 subjects, into a stream of its own with the same settings as
// Broker's (3 replicas, file storage).
//
//   JetStreamLoad NATS_URLS [CONCURRENCY] [SECONDS]
import BrokerNATS
import Glibc
import Logging

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
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let (count, failed) = await withTaskGroup(of: (Int, Int).self) { group in
            for worker in 0..<concurrency {
                group.addTask { await publish(jetStream, payloads, first: worker, step: concurrency, until: deadline) }
            }
            var total = (0, 0)
            for await (ok, failed) in group { total = (total.0 + ok, total.1 + failed) }
            return total
        }
        let elapsed = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        print("raw JetStream publish with ack: \(count) acknowledged (\(failed) failed) in \(elapsed) s: \(Int(Double(count) / elapsed)) publishes/s")
        await client.close()
    }

    /// One worker: publish after publish until the deadline; how many were acknowledged and how many failed.
    static func publish(_ jetStream: JetStream, _ payloads: [[UInt8]], first: Int, step: Int, until deadline: ContinuousClock.Instant) async
        -> (Int, Int)
    {
        var next = first
        var ok = 0
        var failed = 0
        while ContinuousClock.now < deadline {
            do {
                _ = try await jetStream.publish("RAWLOAD.load-\(next % 1000)", payload: payloads[next % 1000])
                ok += 1
            } catch {
                failed += 1
            }
            next += step
        }
        return (ok, failed)
    }
}
