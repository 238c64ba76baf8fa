import BrokerJetStream
import BrokerLog
import BrokerNATS
import BrokerStore
import BrokerStoreTesting
import BrokerTestSupport
import Foundation
import Logging
import Testing

/// What every ``EventStore`` does, checked over each of them: the memory store, the
/// segment store over a fresh directory, and the JetStream store over a real
/// `nats-server` (a single node, a stream of one replica). A store that keeps these
/// can sit under the HTTP server; each case fails when its promise is broken.
@Suite struct StoreContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case memory, segments, jetStream
        var testDescription: String { rawValue }

        /// Whether a batch is one write (consecutive seqs, one timestamp, all or none
        /// through any failure). JetStream has no multi-message commit (SPEC.md 7.3).
        var hasAtomicBatches: Bool { self != .jetStream }
    }

    /// Runs `body` over a new, empty store of `kind`, then closes it.
    static func withStore(_ kind: Kind, _ body: (any EventStore) async throws -> Void) async throws {
        switch kind {
        case .memory:
            let store = MemoryStore()
            try await run(store, body)
        case .segments:
            let directory = NSTemporaryDirectory() + "broker-contract-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var options = LogOptions(durability: .never)
            options.logger.logLevel = .critical
            try await run(SegmentStore(try EventLog.open(directory: directory, options: options)), body)
        case .jetStream:
            let server = try NATSServerProcess()
            var options = JetStreamStore.Options(servers: [try NATSServerAddress.parse(server.url).get()])
            options.replicas = 1
            options.startTimeout = .seconds(20)
            options.logger.logLevel = .critical
            try await run(try await JetStreamStore.open(options), body)
            withExtendedLifetime(server) {}
        }
    }

    private static func run(_ store: any EventStore, _ body: (any EventStore) async throws -> Void) async throws {
        do { try await body(store) } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    static func entry(_ event: String, _ json: String, expecting seq: UInt64? = nil) -> AppendEntry {
        AppendEntry(event: event, data: Array(json.utf8), expectedSeq: seq)
    }

    static func key(_ text: String, digest: UInt64 = 1) -> IdempotencyKey { IdempotencyKey(text, requestDigest: digest)! }

    static func everything(_ store: any EventStore) async throws -> [Record] {
        try await store.records(from: 1, through: .max, limit: .max)
    }

    // MARK: Appends

    @Test(arguments: Kind.allCases) func aBatchGetsConsecutiveSeqsAndReadsBackAsWritten(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            #expect(store.lastSeq == 0)
            let first = try await store.append([Self.entry("a", "1")], idempotencyKey: nil)
            let batch = try await store.append(
                [Self.entry("b", #"{"x":[1,2]}"#), Self.entry("a", "2"), Self.entry("c", "null")], idempotencyKey: nil)
            #expect(first.records.map(\.seq) == [1])
            #expect(batch.records.map(\.seq) == [2, 3, 4])
            #expect(!batch.replayed)
            if kind.hasAtomicBatches {
                #expect(Set(batch.records.map(\.timestamp)).count == 1, "a batch has one timestamp")
            } else {
                #expect(batch.records.map(\.timestamp) == batch.records.map(\.timestamp).sorted())
            }
            #expect(batch.records[0].timestamp >= first.records[0].timestamp)
            #expect(store.lastSeq == 4)
            let all = try await Self.everything(store)
            #expect(all == first.records + batch.records)
            #expect(all.map { String(decoding: $0.data, as: UTF8.self) } == ["1", #"{"x":[1,2]}"#, "2", "null"])
            #expect(try await store.catchUp(to: 4))
        }
    }

    @Test(arguments: Kind.allCases) func aBatchWithOneStaleExpectedSeqStoresNothing(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            _ = try await store.append([Self.entry("a", "1"), Self.entry("b", "1")], idempotencyKey: nil)
            let batch = [Self.entry("a", "2", expecting: 0), Self.entry("c", "1", expecting: 0), Self.entry("b", "2", expecting: 1)]
            await #expect(
                throws: StoreError.seqConflict([
                    SeqConflict(index: 0, event: "a", expectedSeq: 0, currentSeq: 1),
                    SeqConflict(index: 2, event: "b", expectedSeq: 1, currentSeq: 2),
                ])
            ) {
                try await store.append(batch, idempotencyKey: nil)
            }
            // A seq the name has not reached is refused too.
            await #expect(throws: StoreError.seqConflict([SeqConflict(index: 0, event: "c", expectedSeq: 3, currentSeq: 0)])) {
                try await store.append([Self.entry("c", "1", expecting: 3)], idempotencyKey: nil)
            }
            #expect(store.lastSeq == 2)
            #expect(try await store.latest(of: "a", upTo: .max)?.seq == 1)
            #expect(try await store.latest(of: "c", upTo: .max) == nil)
            // The expected seqs that hold: the name's latest seq, or 0 for a new name.
            let stored = try await store.append(
                [Self.entry("a", "2", expecting: 1), Self.entry("b", "2", expecting: 2), Self.entry("c", "1", expecting: 0)], idempotencyKey: nil)
            #expect(stored.records.map(\.seq) == [3, 4, 5])
        }
    }

    @Test(arguments: Kind.allCases) func aBatchWithAnInvalidEntryStoresNothing(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            await #expect(throws: StoreError.self) {
                try await store.append([Self.entry("good", "1"), Self.entry("bad\u{1}name", "2")], idempotencyKey: nil)
            }
            await #expect(throws: StoreError.invalidEventName("event name is empty")) {
                try await store.append([Self.entry("", "1")], idempotencyKey: nil)
            }
            #expect(store.lastSeq == 0)
            let latest = try await store.latest(upTo: .max, where: { _ in true })
            let history = try await store.history(of: "good", since: nil, until: nil, after: nil, limit: nil)
            #expect(latest.isEmpty)
            #expect(history == nil)
        }
    }

    @Test(arguments: Kind.allCases) func aRepeatedKeyAnswersTheFirstRecordsAndAnotherRequestWithItIsRefused(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            _ = try await store.append([Self.entry("before", "0")], idempotencyKey: nil)
            let first = try await store.append([Self.entry("k", "1"), Self.entry("k", "2")], idempotencyKey: Self.key("order-1"))
            let again = try await store.append([Self.entry("k", "1"), Self.entry("k", "2")], idempotencyKey: Self.key("order-1"))
            #expect(!first.replayed)
            #expect(again.replayed)
            #expect(again.records == first.records)
            #expect(store.lastSeq == 3)
            await #expect(throws: StoreError.idempotencyKeyReused(key: "order-1", firstSeq: 2)) {
                try await store.append([Self.entry("k", "other")], idempotencyKey: Self.key("order-1", digest: 2))
            }
            #expect(store.lastSeq == 3)
            // Another key stores anew.
            #expect(try await store.append([Self.entry("k", "1")], idempotencyKey: Self.key("order-2")).records.map(\.seq) == [4])
        }
    }

    // MARK: Reads

    @Test(arguments: Kind.allCases) func theLatestIndexAnswersAsOfAnySeq(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            for (event, value) in [("a", "1"), ("b", "1"), ("a", "2"), ("c/x", "1"), ("b", "2"), ("a", "3")] {
                _ = try await store.append([Self.entry(event, value)], idempotencyKey: nil)
            }
            let all = try await Self.everything(store)
            for upTo in UInt64(0)...7 {
                let visible = all.filter { $0.seq <= upTo }
                let expected = Dictionary(grouping: visible, by: \.event).values.map { $0.max { $0.seq < $1.seq }! }.sorted { $0.seq < $1.seq }
                let latest = try await store.latest(upTo: upTo, where: { _ in true })
                let prefixed = try await store.latest(upTo: upTo, where: { $0.hasPrefix("c/") })
                #expect(latest == expected, "as of seq \(upTo)")
                #expect(prefixed == expected.filter { $0.event.hasPrefix("c/") })
                for name in ["a", "b", "c/x", "none"] {
                    let one = try await store.latest(of: name, upTo: upTo)
                    #expect(one == expected.first { $0.event == name }, "\(name) as of \(upTo)")
                }
            }
        }
    }

    @Test(arguments: Kind.allCases) func historyIsOldestFirstWithinItsBounds(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            for value in 1...6 {
                _ = try await store.append([Self.entry("h", String(value)), Self.entry("other", String(value))], idempotencyKey: nil)
                if value % 2 == 0 { try await Task.sleep(for: .milliseconds(3)) }  // more than one timestamp
            }
            let mine = try await Self.everything(store).filter { $0.event == "h" }
            #expect(try await store.history(of: "h", since: nil, until: nil, after: nil, limit: nil) == mine)
            #expect(try await store.history(of: "h", since: nil, until: nil, after: mine[2].seq, limit: nil) == Array(mine[3...]))
            #expect(try await store.history(of: "h", since: nil, until: nil, after: mine[1].seq, limit: 2) == Array(mine[2...3]))
            #expect(try await store.history(of: "h", since: nil, until: nil, after: mine[5].seq, limit: nil) == [])
            let since = mine[2].timestamp
            let until = mine[3].timestamp
            #expect(try await store.history(of: "h", since: since, until: nil, after: nil, limit: nil) == mine.filter { $0.timestamp >= since })
            #expect(try await store.history(of: "h", since: nil, until: until, after: nil, limit: nil) == mine.filter { $0.timestamp <= until })
            #expect(try await store.history(of: "never", since: nil, until: nil, after: nil, limit: nil) == nil)
        }
    }

    @Test(arguments: Kind.allCases) func recordsComeInPagesAndTimestampsFindTheirSeq(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            for value in 1...9 {
                _ = try await store.append([Self.entry("p\(value % 3)", String(value))], idempotencyKey: nil)
                if value % 3 == 0 { try await Task.sleep(for: .milliseconds(3)) }
            }
            let all = try await Self.everything(store)
            #expect(all.map(\.seq) == Array(1...9))
            var paged: [Record] = []
            var next: UInt64 = 1
            for _ in 0..<10 {
                let page = try await store.records(from: next, through: 8, limit: 3)
                if page.isEmpty { break }
                #expect(page.count <= 3)
                paged += page
                next = page.last!.seq + 1
            }
            #expect(paged == Array(all.prefix(8)))
            #expect(try await store.records(from: 10, through: .max, limit: 5) == [])
            for record in all {
                let expected = all.last { $0.timestamp <= record.timestamp }!.seq
                #expect(try await store.lastSeq(atOrBefore: record.timestamp) == expected)
            }
            #expect(try await store.lastSeq(atOrBefore: all[0].timestamp - 1) == 0)
            #expect(try await store.lastSeq(atOrBefore: .max) == 9)
        }
    }

    // MARK: The live feed

    /// A reader that subscribes while a writer appends reads the backlog through the
    /// subscription's `startSeq`, then takes the feed: every record once, in order.
    @Test(arguments: Kind.allCases) func theHandOverFromReadsToTheFeedHasNoGapAndNoRepeat(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            let total = 120
            let writer = Task {
                for value in 1...total { _ = try await store.append([Self.entry("w\(value % 5)", String(value))], idempotencyKey: nil) }
            }
            // Subscribing at three points of the writer's run, each hand-over on its own;
            // a last record after the writer's ends every feed.
            var readers: [(subscription: StoreSubscription, backlog: [UInt64])] = []
            for threshold in [10, 50, 100] {
                for _ in 0..<10_000 where store.lastSeq < UInt64(threshold) { try await Task.sleep(for: .milliseconds(1)) }
                let subscription = store.subscribe()
                let backlog = try await store.records(from: 1, through: subscription.startSeq, limit: .max).map(\.seq)
                #expect(backlog.last ?? 0 == subscription.startSeq)
                readers.append((subscription, backlog))
            }
            try await writer.value
            let end = try await store.append([Self.entry("end", "0")], idempotencyKey: nil).records[0].seq
            for reader in readers {
                var got = reader.backlog
                for await record in reader.subscription.records {
                    got.append(record.seq)
                    if record.seq >= end { break }
                }
                #expect(got == Array(1...end), "subscribed at seq \(reader.subscription.startSeq)")
            }
            try await writer.value
        }
    }

    @Test(arguments: Kind.allCases) func closingEndsEverySubscription(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            let subscription = store.subscribe()
            _ = try await store.append([Self.entry("a", "1")], idempotencyKey: nil)
            await store.close()
            var got: [UInt64] = []
            for await record in subscription.records { got.append(record.seq) }
            #expect(got == [1])
            await #expect(throws: StoreError.self) { try await store.append([Self.entry("a", "2")], idempotencyKey: nil) }
            var late: [Record] = []
            for await record in store.subscribe().records { late.append(record) }
            #expect(late.isEmpty)
        }
    }

    @Test(arguments: Kind.allCases) func statisticsCountWhatWasAppended(_ kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            _ = try await store.append([Self.entry("a", "12"), Self.entry("b", "345")], idempotencyKey: nil)
            _ = try await store.append([Self.entry("a", "6")], idempotencyKey: Self.key("s"))
            let before = store.statistics
            _ = try await store.append([Self.entry("a", "6")], idempotencyKey: Self.key("s"))
            let statistics = store.statistics
            #expect(statistics.appends == 3)
            // At least the data; the segment store counts its frames' bytes. A replay writes nothing.
            #expect(statistics.bytesAppended >= 6)
            #expect(statistics.bytesAppended == before.bytesAppended)
            #expect(statistics.eventNames == 2)
            #expect(statistics.lastSeq == 3)
            #expect(store.health.failure == nil)
        }
    }
}
