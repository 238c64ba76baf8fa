import BrokerAuth
import BrokerStore
import BrokerStoreTesting
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import BrokerHTTP

/// The hub's heartbeat and token expiry on an event loop's clock that moves only when
/// the test says so (`NIOAsyncTestingEventLoop.advanceTime`): exact to the
/// millisecond, with no sleep and no wait on the machine's clock.
@Suite struct HubClockTests {
    static func hub(on loop: NIOAsyncTestingEventLoop, heartbeat: Duration = .seconds(15)) -> SubscriberHub {
        SubscriberHub(
            store: MemoryStore(), bufferBytes: 1 << 20, heartbeat: heartbeat, metrics: BrokerMetrics(), logger: Logger(label: "test"),
            timers: loop)
    }

    static let ping = SubscriberQueue.cost(of: SSEMessage.comment("ping", allocator: ByteBufferAllocator()))

    @Test func aHeartbeatGoesToEveryStreamEachInterval() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let hub = Self.hub(on: loop)
        let timers = hub.startTimers()
        defer { for timer in timers { timer.cancel() } }
        let first = try #require(hub.register(EventSelector(names: nil, readable: .everything), format: .named))
        await loop.advanceTime(by: .milliseconds(14_999))
        #expect(first.messages.heldBytes == 0)
        await loop.advanceTime(by: .milliseconds(1))
        #expect(first.messages.heldBytes == Self.ping)
        let second = try #require(hub.register(EventSelector(names: nil, readable: .everything), format: .named))
        await loop.advanceTime(by: .seconds(15))
        #expect(first.messages.heldBytes == 2 * Self.ping)
        #expect(second.messages.heldBytes == Self.ping)
        try await loop.shutdownGracefully()
    }

    /// SPEC.md 4.11: a stream ends within the sweep's 250 ms of its token's expiry, with
    /// a `: token expired` comment after what was queued; others go on.
    @Test func aStreamEndsWhenItsTokenExpiresAndOthersGoOn() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let hub = Self.hub(on: loop, heartbeat: .seconds(3600))
        let timers = hub.startTimers()
        defer { for timer in timers { timer.cancel() } }
        let all = EventSelector(names: nil, readable: .everything)
        let expiring = try #require(hub.register(all, format: .named, deadline: hub.now + .seconds(5)))
        let lasting = try #require(hub.register(all, format: .named, deadline: hub.now + .seconds(60)))
        let untimed = try #require(hub.register(all, format: .named))
        #expect(hub.subscriberCount == 3)
        await loop.advanceTime(by: .milliseconds(4_999))
        #expect(hub.subscriberCount == 3)
        await loop.advanceTime(by: .milliseconds(250))
        #expect(hub.subscriberCount == 2)
        let notice = SubscriberQueue.cost(of: SSEMessage.comment("token expired", allocator: ByteBufferAllocator()))
        #expect(expiring.messages.heldBytes == notice)
        #expect(expiring.messages.append(ByteBuffer(string: "late")) == .finished)
        #expect(lasting.messages.heldBytes == 0 && untimed.messages.heldBytes == 0)
        await loop.advanceTime(by: .seconds(55))
        #expect(hub.subscriberCount == 1)
        #expect(untimed.messages.append(ByteBuffer(string: "still")) == .queued)
        try await loop.shutdownGracefully()
    }

    /// A token's expiry, a wall-clock date, lands on the hub's clock as the same
    /// distance from now.
    @Test func aDateBecomesADeadlineOnTheHubsClock() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let hub = Self.hub(on: loop)
        await loop.advanceTime(by: .seconds(1000))
        let deadline = hub.deadline(at: Date(timeIntervalSinceNow: 30))
        #expect(deadline - hub.now >= .milliseconds(29_900) && deadline - hub.now <= .milliseconds(30_001))
        try await loop.shutdownGracefully()
    }
}
