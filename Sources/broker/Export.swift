import ArgumentParser
import BrokerJetStream
import BrokerLog
import BrokerNATS
import Logging

/// `broker export --nats URL --stream NAME DIR`: a cluster's history as a segment log.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a JetStream stream into a new data directory (same seqs and timestamps), for dump, verify and replay.")

    @Option(help: "NATS servers (nats://host:port, comma-separated).")
    var nats: String
    @Option(help: "The stream to copy.")
    var stream: String = "BROKER"
    @Argument(help: "The directory to write: new or empty.")
    var directory: String

    func validate() throws {
        if let why = Serve.streamNameProblem(stream) { throw ValidationError("--stream: \(why)") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: .warning) }
        let servers: [NATSServerAddress]
        switch NATSServerAddress.parseList(nats) {
        case .success(let parsed): servers = parsed
        case .failure(let error): throw ValidationError("--nats: \(error)")
        }
        do {
            let report = try await StreamExport.run(servers: servers, stream: stream, into: directory, logger: Logger(label: "broker.export"))
            print("exported \(report.records) records of stream \(stream) into \(directory) (last seq \(report.lastSeq))")
        } catch {
            throw ToolError("export: \(error)")
        }
    }
}
