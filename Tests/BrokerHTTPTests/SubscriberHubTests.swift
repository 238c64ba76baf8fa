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
        #expect(queue.append(Self.message("a")) == .queuedFirst)
        #expect(queue.append(Self.message("b")) == .queued)
        queue.release()
        #expect(queue.append(Self.message("c")) == .queued)
        // Everything queued by the time the connection asks goes in one batch.
        #expect(Self.texts(await queue.next()) == ["a", "b", "c"])
        #expect(queue.append(Self.message("d")) == .queuedFirst)
        async let waiting = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        queue.release()
        #expect(Self.texts(await waiting) == ["d"])
    }

    @Test func aFullQueueDropsAndAFinishedOneDrainsThenEnds() async {
        let queue = SubscriberQueue(capacity: 2)
        #expect(queue.append(Self.message("a")) == .queuedFirst)
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

    /// The release timing, with instants given by the test.
    @Test func releasesAreImmediateWhenQuietAndOnTheTickWhenBusy() {
        let start = ContinuousClock.now
        func at(_ ms: Int) -> ContinuousClock.Instant { start + .milliseconds(ms) }
        var schedule = ReleaseSchedule<ContinuousClock.Instant>(tick: .milliseconds(10), quietPeriod: .milliseconds(100))
        #expect(schedule.queued(at: at(0)) == .now)  // nothing released yet: quiet
        schedule.released(at: at(0))
        #expect(schedule.queued(at: at(1)) == .at(at(10)))  // busy: on the tick
        #expect(schedule.queued(at: at(2)) == .pending)  // joins the release already due
        #expect(schedule.queued(at: at(9)) == .pending)
        schedule.released(at: at(10))
        // Fanning out took longer than a tick: a quarter tick still gathers what follows.
        #expect(schedule.queued(at: at(30)) == .at(at(30) + .microseconds(2500)))
        schedule.released(at: at(33))
        #expect(schedule.queued(at: at(132)) == .at(at(132) + .microseconds(2500)))
        schedule.released(at: at(135))
        #expect(schedule.queued(at: at(235)) == .now)  // a quiet 100 ms: at once
    }

    /// A burst of records reaches a subscriber complete and in order through the
    /// coalescing queues.
    @Test func aBurstArrivesWholeAndInOrder() async throws {
        let directory = NSTemporaryDirectory() + "hub-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = LogOptions(compression: false, durability: .never)
        options.logger.logLevel = .critical
        let log = try EventLog.open(directory: directory, options: options)
        let hub = SubscriberHub(log: log, capacity: 4096, heartbeat: .seconds(60), metrics: BrokerMetrics(), logger: Logger(label: "test"))
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
