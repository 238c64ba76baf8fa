import BrokerLog
import Foundation
import Testing

@Suite(.timeLimit(.minutes(3))) struct EventsTests {
    @Test func freshConnectionGetsTheLatestOfEachNameThenLiveRecords() async throws {
        try await ServerHarness.with { server in
            try await server.mustInsert("a", "1")
            try await server.mustInsert("b", #"{"x":"line\nbreak"}"#)
            try await server.mustInsert("a", "3")
            let stream = try await server.subscribe()
            #expect(stream.status == 200)
            #expect(stream.headers["Content-Type"].first == "text/event-stream")
            #expect(stream.headers["Cache-Control"].first == "no-cache")
            let snapshot = await stream.next(2)
            #expect(snapshot == [SSEEvent(id: 2, event: "b", data: #"{"x":"line\nbreak"}"#), SSEEvent(id: 3, event: "a", data: "3")])
            try await server.mustInsert("c", "[4]")
            try await server.mustInsert("a", "5")
            #expect(await stream.next(2) == [SSEEvent(id: 4, event: "c", data: "[4]"), SSEEvent(id: 5, event: "a", data: "5")])
        }
    }

    @Test func envelopeFormatCarriesTheNameInTheData() async throws {
        try await ServerHarness.with { server in
            try await server.mustInsert("a/b", #"{"x":1}"#)
            let stream = try await server.subscribe("?envelope=1")
            let snapshot = await stream.next(1)
            #expect(snapshot.count == 1)
            #expect(snapshot.first?.event == nil)
            #expect(snapshot.first?.id == 1)
            let data = snapshot.first?.data ?? ""
            #expect(data.hasPrefix(#"{"event":"a/b","timestamp":"#) && data.hasSuffix(#","data":{"x":1}}"#), "\(data)")
            // Named and envelope subscribers side by side get the same records.
            let named = try await server.subscribe()
            _ = await named.next(1)
            try await server.mustInsert("c", "2")
            #expect(await stream.next(1).first?.data.hasSuffix(#","data":2}"#) == true)
            #expect(await named.next(1) == [SSEEvent(id: 2, event: "c", data: "2")])
            #expect(try await server.request(.GET, "/events?envelope=yes").status == 400)
        }
    }

    @Test func resumeSendsEverythingMissedThenLive() async throws {
        try await ServerHarness.with { server in
            for i in 1...5 { try await server.mustInsert("e\(i % 2)", "\(i)") }
            let first = try await server.subscribe()
            #expect(await first.next(2).map(\.id) == [4, 5])  // snapshot: latest of e0 and e1
            // Disconnected (the client remembers id 5); inserts happen meanwhile.
            for i in 6...9 { try await server.mustInsert("e\(i % 2)", "\(i)") }
            let byHeader = try await server.subscribe(headers: [("Last-Event-ID", "5")])
            #expect(await byHeader.next(4).map(\.id) == [6, 7, 8, 9])
            let byQuery = try await server.subscribe("?lastEventId=7")
            #expect(await byQuery.next(2).map(\.id) == [8, 9])
            try await server.mustInsert("e0", "10")
            #expect(await byHeader.next(1).map(\.id) == [10])
            #expect(await byQuery.next(1).map(\.id) == [10])
            let fromZero = try await server.subscribe(headers: [("Last-Event-ID", "0")])
            #expect(await fromZero.next(10).map(\.id) == Array(1...10))
        }
    }

    @Test func resumePastTheLastSeqGetsTheSnapshotWithANotice() async throws {
        try await ServerHarness.with { server in
            try await server.mustInsert("a", "1")
            try await server.mustInsert("a", "2")
            let stream = try await server.subscribe(headers: [("Last-Event-ID", "99")])
            #expect(await stream.next(1) == [SSEEvent(id: 2, event: "a", data: "2")])
            #expect(stream.comments.contains { $0.contains("past the last seq") })
            let bad = try await server.request(.GET, "/events", headers: [("Last-Event-ID", "abc")])
            #expect(bad.status == 400)
            #expect(bad.object["error"] != nil)
        }
    }

    @Test func eventFilterAppliesToSnapshotAndLive() async throws {
        try await ServerHarness.with { server in
            try await server.mustInsert("a", "1")
            try await server.mustInsert("b", "2")
            try await server.mustInsert("c", "3")
            let stream = try await server.subscribe("?event=a&event=c")
            #expect(await stream.next(2).map(\.id) == [1, 3])
            try await server.mustInsert("b", "4")
            try await server.mustInsert("c", "5")
            #expect(await stream.next(1).map(\.id) == [5])
            let resumed = try await server.subscribe("?event=b&lastEventId=1")
            #expect(await resumed.next(2).map(\.id) == [2, 4])
            let bad = try await server.request(.GET, "/events?event=")
            #expect(bad.status == 400)
        }
    }

    @Test func connectingWhileInsertsRaceLosesAndRepeatsNothing() async throws {
        try await ServerHarness.with { server in
            let total = 300
            let writer = Task {
                for i in 1...total { try await server.mustInsert("r", "\(i)") }
            }
            // Subscribers connect while the writer runs: fresh ones (snapshot of "r"
            // then live) and resuming ones (everything after 0).
            var fresh: [SSEReader] = []
            var resumed: [SSEReader] = []
            for _ in 0..<5 {
                fresh.append(try await server.subscribe())
                resumed.append(try await server.subscribe(headers: [("Last-Event-ID", "0")]))
                try await Task.sleep(for: .milliseconds(5))
            }
            try await writer.value
            for stream in resumed {
                #expect(await stream.next(total).compactMap(\.id) == Array(1...UInt64(total)))
            }
            for stream in fresh {
                let events = await stream.next(through: UInt64(total))
                let ids = events.compactMap(\.id)
                // One snapshot record (or none if connected before the first insert), then
                // every later seq exactly once.
                let start = ids.first ?? 0
                #expect(ids == Array(start...UInt64(total)), "got \(ids.prefix(5))… \(ids.count) ids")
            }
        }
    }

    @Test func aHundredSubscribersEachGetEveryRecord() async throws {
        try await ServerHarness.with { server in
            var streams: [SSEReader] = []
            for _ in 0..<100 { streams.append(try await server.subscribe()) }
            let total = 50
            for i in 1...total { try await server.mustInsert("n\(i % 3)", "\(i)") }
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for stream in streams { group.addTask { await stream.next(total).compactMap(\.id) } }
                for try await ids in group { #expect(ids == Array(1...UInt64(total))) }
            }
            #expect(server.log.lastSeq == UInt64(total))
        }
    }

    @Test func aSlowSubscriberIsDroppedWhileOthersKeepUp() async throws {
        let configuration = ServerHarness.configuration { $0.subscriberBufferBytes = 200_000 }
        try await ServerHarness.with(configuration) { server in
            let slow = try await server.subscribe()
            let fast = try await server.subscribe()
            let total = 600
            let payload = "\"" + String(repeating: "x", count: 20_000) + "\""
            let reader = Task { await fast.next(total, timeout: .seconds(120)).compactMap(\.id) }
            for _ in 1...total { try await server.mustInsert("big", payload) }
            #expect(await reader.value == Array(1...UInt64(total)))
            // The slow one never read: the server cut it off once its queue filled.
            let metrics = try await server.request(.GET, "/metrics")
            #expect(
                metrics.body.contains("broker_subscribers_dropped_total 1\n"),
                "\(metrics.body.split(separator: "\n").filter { $0.hasPrefix("broker_subscribers") })")
            #expect(await slow.waitForEnd(timeout: .seconds(20)))
            // It resumes from where it stopped and gets the rest.
            let resumed = try await server.subscribe(headers: [("Last-Event-ID", "\(total - 3)")])
            #expect(await resumed.next(3).compactMap(\.id) == [UInt64(total - 2), UInt64(total - 1), UInt64(total)])
        }
    }

    @Test func idleConnectionsGetHeartbeats() async throws {
        let configuration = ServerHarness.configuration { $0.heartbeat = .milliseconds(100) }
        try await ServerHarness.with(configuration) { server in
            let stream = try await server.subscribe()
            #expect(await stream.waitForComment(containing: "ping", timeout: .seconds(5)))
        }
    }

    @Test func aDisconnectedSubscriberIsReleased() async throws {
        let configuration = ServerHarness.configuration { $0.heartbeat = .milliseconds(200) }
        try await ServerHarness.with(configuration) { server in
            let stream = try await server.subscribe()
            _ = await stream.waitForComment(containing: "ping", timeout: .seconds(5))
            #expect(try await Self.subscriberGauge(server) == 1)
            // Abandon the stream: the reader's task is cancelled, closing the connection.
            _ = await stream.next(1, timeout: .milliseconds(10))
            var count = 1
            for _ in 0..<50 where count != 0 {
                try await Task.sleep(for: .milliseconds(100))
                count = try await Self.subscriberGauge(server)
            }
            #expect(count == 0)
        }
    }

    @Test func restartKeepsSeqsAndState() async throws {
        let directory = NSTemporaryDirectory() + "broker-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await ServerHarness.with(directory: directory) { server in
            try await server.mustInsert("a", "1")
            try await server.mustInsert("b", "2")
            try await server.mustInsert("a", "3")
        }
        try await ServerHarness.with(directory: directory) { server in
            let stream = try await server.subscribe()
            #expect(await stream.next(2).map(\.id) == [2, 3])
            #expect(try await server.mustInsert("c", "4") == 4)
            let audit = try await server.request(.GET, "/audit/a")
            #expect((audit.json as? [[String: Any]])?.map { $0["seq"] as? Int } == [1, 3])
        }
    }

    static func subscriberGauge(_ server: ServerHarness) async throws -> Int {
        let metrics = try await server.request(.GET, "/metrics")
        let line = metrics.body.split(separator: "\n").first { $0.hasPrefix("broker_subscribers ") } ?? ""
        return Int(Double(line.split(separator: " ").last ?? "") ?? -1)
    }
}
