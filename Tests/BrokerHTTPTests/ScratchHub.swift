import BrokerLog
import Foundation
import Logging

@testable import BrokerHTTP

/// A hub over a quiet log of its own in a scratch directory, for the tests that need
/// the hub (or what is built on it) without a server; the log is closed and the
/// directory removed after `body`.
struct ScratchHub {
    let log: EventLog
    let hub: SubscriberHub
    let metrics: BrokerMetrics
    let directory: String

    static func with(_ label: String, _ body: (ScratchHub) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions(compression: false, durability: .never)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        let metrics = BrokerMetrics()
        let hub = SubscriberHub(
            store: SegmentStore(log), bufferBytes: 8 << 20, heartbeat: .seconds(60), metrics: metrics, logger: Logger(label: "test"))
        do {
            try await body(ScratchHub(log: log, hub: hub, metrics: metrics, directory: directory))
        } catch {
            await log.close()
            throw error
        }
        await log.close()
    }
}
