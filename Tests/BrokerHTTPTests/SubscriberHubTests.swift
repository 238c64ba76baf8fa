import BrokerLog
import Foundation
import Logging
import NIOCore
import Testing
@testable import BrokerHTTP

@Suite(.timeLimit(.minutes(1))) struct SubscriberHubTests {
    static func message(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func texts(_ batch: [ByteBuffer]?) -> [String]? {
        batch?.map { String(buffer: $0) }
    }

    @Test func aQueueHandsOverOnlyWhatWasReleasedInOrder() async {
        let queue = SubscriberQueue(capacity: 3)
        #expect(queue.append(Self.message("a")) == .queued)
        #expect(queue.append(Self.message("b")) == .queued)
        queue.release()
        #expect(queue.append(Self.message("c")) == .queued)
        // Everything queued by the time the connection asks goes in one batch.
        #expect(Self.texts(await queue.next()) == ["a", "b", "c"])
        #expect(queue.append(Self.message("d")) == .queued)
        async let waiting = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        queue.release()
        #expect(Self.texts(await waiting) == ["d"])
    }

    @Test func aFullQueueDropsAndAFinishedOneDrainsThenEnds() async {
        let queue = SubscriberQueue(capacity: 2)
        #expect(queue.append(Self.message("a")) == .queued)
        #expect(queue.append(Self.message("b")) == .queued)
        #expect(queue.append(Self.message("c")) == .dropped)
        queue.finish()
        #expect(queue.append(Self.message("d")) == .finished)
        #expect(Self.texts(await queue.next()) == ["a", "b"])
        #expect(await queue.next() == nil)
    }

    @Test func cancellingAWaitingConnectionEndsItsQueue() async {
        let queue = SubscriberQueue(capacity: 2)
        let waiting = Task { await queue.next() }
        try? await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(queue.append(Self.message("a")) == .finished)
    }

    /// A burst of records reaches a subscriber in a few coalesced batches, in order,
    /// none missing: not one wake-up and write per record.
    @Test func aBurstIsCoalescedIntoFewBatchesInOrder() async throws {
        let directory = NSTemporaryDirectory() + "hub-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions(compression: false, durability: .never)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        let hub = SubscriberHub(log: log, capacity: 4096, heartbeat: .seconds(60), metrics: BrokerMetrics(), logger: Logger(label: "test"))
        let running = Task { try await hub.run() }
        defer { running.cancel() }
        let registration = try #require(hub.register(names: nil, format: .named))
        let count = 500
        // One batch: the records reach the hub back to back, whatever the machine's speed.
        _ = try await log.append((1...count).map { AppendEntry(event: "burst", data: Array("\($0)".utf8)) })
        var ids: [UInt64] = []
        var batches = 0
        while ids.count < count, let batch = await registration.messages.next() {
            batches += 1
            for message in batch {
                for line in String(buffer: message).split(separator: "\n") where line.hasPrefix("id: ") {
                    ids.append(UInt64(line.dropFirst(4))!)
                }
            }
        }
        #expect(ids == Array(1...UInt64(count)))
        #expect(batches < count / 10, "\(batches) batches for \(count) records")
        hub.unregister(registration.id)
        await log.close()
    }
}
