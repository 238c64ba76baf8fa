import BrokerJetStream
import BrokerLog
import BrokerNATS
import BrokerStore
import Foundation
import Logging

/// `broker export`: a JetStream stream copied into a new segment-log directory,
/// every record with the seq and timestamp it has on the stream (SPEC.md 7.6), so
/// that `dump`, `verify` and `replay` read a cluster's history.
enum StreamExport {
    struct Report: Sendable {
        let records: UInt64
        let lastSeq: UInt64
    }

    /// Why an export stopped: what it found, in a sentence.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Copies the stream as it is when the export starts (records after that are
    /// left for the next export) into `directory`, which must be new or empty.
    static func run(servers: [NATSServerAddress], stream: String, into directory: String, logger: Logger) async throws(Failure) -> Report {
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: directory), !contents.isEmpty {
            throw Failure("\(directory) is not empty: export writes a new log")
        }
        let client = NATSClient(options: .init(servers: servers, name: "broker-export"), logger: logger)
        client.start()
        defer { Task { await client.close() } }
        guard await client.waitUntilConnected(timeout: .seconds(10)) else { throw Failure("no NATS server answered") }
        let jetStream = JetStream(client: client)
        let info: StreamInfo
        do {
            guard let found = try await jetStream.streamInfo(stream) else { throw Failure("\(stream): no such JetStream stream") }
            info = found
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure("JetStream: \(error)")
        }
        let clock = Locked<Int64>(0)
        let options = LogOptions(durability: .never, logger: logger, clock: { clock.withLock { $0 } })
        let log: EventLog
        do throws(LogError) { log = try EventLog.open(directory: directory, options: options) } catch { throw Failure("\(error)") }
        do {
            let count = try await copy(through: info.state.lastSeq, of: stream, jetStream: jetStream, into: log, clock: clock, logger: logger)
            await log.close()
            return Report(records: count, lastSeq: log.lastSeq)
        } catch {
            await log.close()
            throw error
        }
    }

    private static func copy(
        through last: UInt64, of stream: String, jetStream: JetStream, into log: EventLog, clock: Locked<Int64>, logger: Logger
    ) async throws(Failure) -> UInt64 {
        guard last > 0 else { return 0 }
        let subjects = SubjectName(prefix: stream)
        let (consumer, deliveries) = OrderedConsumer.stream(jetStream: jetStream, stream: stream, startSeq: 1, heartbeat: .seconds(1), logger: logger)
        consumer.start()
        defer { consumer.stop() }
        var count: UInt64 = 0
        var timestamp: Int64 = 0
        for await delivery in deliveries {
            let message = delivery.message
            guard message.seq == log.lastSeq + 1, let name = subjects.event(of: message) else {
                throw Failure(
                    "\(stream): seq \(message.seq) on \(message.subject) is not a Broker record or does not follow seq \(log.lastSeq): a segment log cannot skip it"
                )
            }
            timestamp = max(timestamp, message.timeNanoseconds / 1_000_000)
            clock.withLock { $0 = timestamp }
            do throws(LogError) { _ = try await log.append(event: name, data: message.payload) } catch { throw Failure("\(error)") }
            count += 1
            if message.seq >= last { return count }
        }
        throw Failure("the stream's deliveries ended at seq \(log.lastSeq) of \(last)")
    }
}
