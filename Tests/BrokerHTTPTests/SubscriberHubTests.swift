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

    /// What `count` one-byte messages cost against a queue's limit.
    static func cost(_ count: Int) -> Int { count * (1 + SubscriberQueue.messageOverhead) }

    @Test func aWaitingConnectionGetsAMessageAtOnceAndABusyOneGetsTheRestTogether() async {
        let queue = SubscriberQueue(limit: Self.cost(100))
        async let waiting = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        #expect(queue.append(Self.message("a")) == .queuedFirst)
        queue.release()
        #expect(Self.texts(await waiting) == ["a"])
        // Written meanwhile: everything queued goes in the next batch, without a release.
        #expect(queue.append(Self.message("b")) == .queuedFirst)
        #expect(queue.append(Self.message("c")) == .queued)
        #expect(Self.texts(await queue.next()) == ["b", "c"])
    }

    /// The limit counts what waits and the last two batches handed over: the one being
    /// written and the one before it, which NIO may still hold.
    @Test func theByteLimitCountsWhatTheConnectionStillHolds() async {
        let queue = SubscriberQueue(limit: Self.cost(4))
        for text in ["a", "b"] { _ = queue.append(Self.message(text)) }
        #expect(Self.texts(await queue.next()) == ["a", "b"])  // being written
        #expect(queue.heldBytes == Self.cost(2))
        _ = queue.append(Self.message("c"))
        #expect(Self.texts(await queue.next()) == ["c"])  // a and b written, perhaps still buffered
        #expect(queue.heldBytes == Self.cost(3))
        #expect(queue.append(Self.message("d")) == .queuedFirst)
        #expect(queue.append(Self.message("e")) == .overLimit)
        #expect(Self.texts(await queue.next()) == ["d"])  // c's write returned: a and b are out
        #expect(queue.heldBytes == Self.cost(2))
        #expect(queue.append(Self.message("e")) == .queuedFirst)
        #expect(queue.append(Self.message("f")) == .queued)
        #expect(queue.append(Self.message("g")) == .overLimit)
    }

    @Test func aFinishedQueueDrainsThenEnds() async {
        let queue = SubscriberQueue(limit: Self.cost(2))
        #expect(queue.append(Self.message("a")) == .queuedFirst)
        #expect(queue.append(Self.message("b")) == .queued)
        queue.finish()
        #expect(queue.append(Self.message("d")) == .finished)
        #expect(Self.texts(await queue.next()) == ["a", "b"])
        #expect(await queue.next() == nil)
    }

    @Test func cancellingAWaitingConnectionEndsItsQueue() async {
        let queue = SubscriberQueue(limit: Self.cost(2))
        let waiting = Task { await queue.next() }
        try? await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(queue.append(Self.message("a")) == .finished)
    }

    /// A burst of records reaches a subscriber complete and in order through the
    /// queues.
    @Test func aBurstArrivesWholeAndInOrder() async throws {
        let directory = NSTemporaryDirectory() + "hub-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions(compression: false, durability: .never)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        let hub = SubscriberHub(log: log, bufferBytes: 8 << 20, heartbeat: .seconds(60), metrics: BrokerMetrics(), logger: Logger(label: "test"))
        let running = Task { try await hub.run() }
        defer { running.cancel() }
        let registration = try #require(hub.register(.everything, format: .named))
        let count = 500
        // One batch: the records reach the hub back to back, whatever the machine's speed.
        _ = try await log.append((1...count).map { AppendEntry(event: "burst", data: Array("\($0)".utf8)) })
        var ids: [UInt64] = []
        while ids.count < count, let batch = await registration.messages.next() {
            for message in batch {
                for line in String(buffer: message).split(separator: "\n") where line.hasPrefix("id: ") {
                    ids.append(UInt64(line.dropFirst(4))!)
                }
            }
        }
        #expect(ids == Array(1...UInt64(count)))
        hub.unregister(registration.id)
        await log.close()
    }
}
