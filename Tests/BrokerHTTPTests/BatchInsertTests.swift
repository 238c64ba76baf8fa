import BrokerHTTP
import BrokerLog
import Foundation
import Testing

/// `POST /insert` with a batch (SPEC.md 4.2): a JSON array or NDJSON lines, stored
/// all or nothing, with limits that refuse the whole batch.
@Suite(.timeLimit(.minutes(2))) struct BatchInsertTests {
    static let json = [("Content-Type", "application/json")]
    static let ndjson = [("Content-Type", "application/x-ndjson")]

    @Test func anArrayIsStoredWholeAndAnsweredWithItsRecords() async throws {
        try await ServerHarness.with { server in
            try await server.mustInsert("before", "0")
            let live = try await server.subscribe("?lastEventId=1")
            let reply = try await server.request(
                .POST, "/insert", body: Array(#"[{"event":"a","data":1},{"event":"b","data":{"x":[2]}},{"event":"a","data":3}]"#.utf8),
                headers: Self.json)
            #expect(reply.status == 200)
            let records = try #require(reply.json as? [[String: Any]])
            #expect(records.map { $0["seq"] as? Int } == [2, 3, 4])
            #expect(Set(records.map { $0["timestamp"] as? Int64 }).count == 1)
            #expect(reply.body.contains(#""data":{"x":[2]}"#))
            #expect(await live.next(3).map(\.id) == [2, 3, 4])
        }
    }

    @Test func ndjsonIsAnsweredWithASummary() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions()) { server in
            let lines = (0..<1000).map { #"{"event":"sensor/\#($0 % 10)","data":{"v":\#($0)}}"# }.joined(separator: "\r\n") + "\n\n"
            let reply = try await server.request(.POST, "/insert", body: Array(lines.utf8), headers: Self.ndjson)
            #expect(reply.status == 200)
            #expect(reply.object["firstSeq"] as? Int == 1)
            #expect(reply.object["lastSeq"] as? Int == 1000)
            #expect(reply.object["count"] as? Int == 1000)
            #expect((reply.object["timestamp"] as? NSNumber)?.int64Value ?? 0 > 1_700_000_000_000)
            #expect(try server.log.latest(of: "sensor/3")?.seq == 994)
        }
    }

    @Test func aBadOrOversizedBatchIsRefusedWholeAndChangesNothing() async throws {
        try await RouterHarness.with(ServerHarness.configuration { $0.maxBatch = 3 }, log: ServerHarness.logOptions()) { server in
            try await server.mustInsert("keep", "1")
            let cases: [(String, String, [(String, String)], Int, String)] = [
                ("an element is not an object", #"[{"event":"a","data":1},5]"#, Self.json, 400, "element 1"),
                ("an element misses data", #"[{"event":"a","data":1},{"event":"b"}]"#, Self.json, 400, "element 1"),
                ("an element has a bad name", #"[{"event":"","data":1}]"#, Self.json, 400, "element 0"),
                ("a bad expected seq", #"[{"event":"a","data":1,"expectedSeq":-1}]"#, Self.json, 400, "expectedSeq"),
                ("an empty array", "[]", Self.json, 400, "at least one record"),
                (
                    "more than --max-batch", #"[{"event":"a","data":1},{"event":"a","data":2},{"event":"a","data":3},{"event":"a","data":4}]"#,
                    Self.json, 413, "--max-batch"
                ),
                ("a bad line", "{\"event\":\"a\",\"data\":1}\n{\"event\":\"a\"}\n", Self.ndjson, 400, "line 2"),
                ("too many lines", String(repeating: "{\"event\":\"a\",\"data\":1}\n", count: 4), Self.ndjson, 413, "--max-batch"),
                ("an array as NDJSON", #"[{"event":"a","data":1}]"#, Self.ndjson, 400, "line 1"),
            ]
            for (label, body, headers, status, mention) in cases {
                let reply = try await server.request(.POST, "/insert", body: Array(body.utf8), headers: headers)
                #expect(reply.status == status, "\(label): \(reply.body)")
                #expect((reply.object["error"] as? String)?.contains(mention) == true, "\(label): \(reply.body)")
            }
            #expect(server.log.lastSeq == 1)
        }
    }

    @Test func aBatchOverMaxBodyIs413() async throws {
        try await RouterHarness.with(ServerHarness.configuration { $0.maxBodyBytes = 2000 }, log: ServerHarness.logOptions()) { server in
            let body = "[" + (0..<100).map { _ in #"{"event":"a","data":1}"# }.joined(separator: ",") + "]"
            let reply = try await server.request(.POST, "/insert", body: Array(body.utf8), headers: Self.json)
            #expect(reply.status == 413)
            #expect(server.log.lastSeq == 0)
        }
    }
}

/// `Idempotency-Key` and `expectedSeq` over HTTP (SPEC.md 4.2).
@Suite(.timeLimit(.minutes(2))) struct IdempotentInsertTests {
    static func post(_ server: some HTTPRequesting, _ body: String, key: String? = nil, lines: Bool = false) async throws -> Reply {
        var headers = [("Content-Type", lines ? "application/x-ndjson" : "application/json")]
        if let key { headers.append(("Idempotency-Key", key)) }
        return try await server.request(.POST, "/insert", body: Array(body.utf8), headers: headers)
    }

    @Test func aRepeatGetsTheFirstAnswerAndAnotherBodyIs422() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions()) { server in
            for (body, lines) in [
                (#"{"event":"a","data":1}"#, false), (#"[{"event":"a","data":1},{"event":"b","data":2}]"#, false),
                (#"{"event":"a","data":1}"#, true),
            ] {
                let key = "key-\(lines)-\(body.count)"
                let first = try await Self.post(server, body, key: key, lines: lines)
                #expect(first.status == 200)
                #expect(first.headers["Idempotent-Replayed"].isEmpty)
                let before = server.log.lastSeq
                let again = try await Self.post(server, body, key: key, lines: lines)
                #expect(again.status == 200 && again.body == first.body, "\(again.body)")
                #expect(again.headers["Idempotent-Replayed"].first == "true")
                #expect(server.log.lastSeq == before)
                let other = try await Self.post(server, body.replacingOccurrences(of: "1", with: "9"), key: key, lines: lines)
                #expect(other.status == 422, "\(other.body)")
                // The same bytes as the other kind of body (an object is also one NDJSON line) are another request.
                if !body.hasPrefix("[") { #expect(try await Self.post(server, body, key: key, lines: !lines).status == 422) }
                #expect(server.log.lastSeq == before)
            }
            for bad in ["", String(repeating: "k", count: 256), "caf\u{e9}"] {
                let reply = try await Self.post(server, #"{"event":"a","data":1}"#, key: bad)
                #expect(reply.status == 400, "key \(bad.count) bytes: \(reply.body)")
            }
        }
    }

    @Test func concurrentRequestsWithOneKeyAppendOnce() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions { $0.durability = .always }) { server in
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<16 { group.addTask { try await Self.post(server, #"[{"event":"a","data":1},{"event":"a","data":2}]"#, key: "once") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == 200 })
            #expect(Set(replies.map(\.body)).count == 1)
            #expect(replies.filter { $0.headers["Idempotent-Replayed"].isEmpty }.count == 1)
            #expect(server.log.lastSeq == 2)
        }
    }

    @Test func aConflictIs409WithTheCurrentSeqs() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions()) { server in
            try await server.mustInsert("form", "1")
            let single = try await Self.post(server, #"{"event":"form","data":2,"expectedSeq":0}"#)
            #expect(single.status == 409)
            #expect(single.object["event"] as? String == "form")
            #expect(single.object["expectedSeq"] as? Int == 0)
            #expect(single.object["currentSeq"] as? Int == 1)
            let batch = try await Self.post(
                server, #"[{"event":"form","data":2,"expectedSeq":1},{"event":"x","data":3,"expectedSeq":4},{"event":"y","data":3,"expectedSeq":7}]"#)
            #expect(batch.status == 409)
            let conflicts = try #require(batch.object["conflicts"] as? [[String: Any]])
            #expect(conflicts.map { $0["index"] as? Int } == [1, 2])
            #expect(conflicts.map { $0["currentSeq"] as? Int } == [0, 0])
            #expect(server.log.lastSeq == 1)
            #expect(try await Self.post(server, #"{"event":"form","data":2,"expectedSeq":1}"#).status == 200)
        }
    }

    /// 64 clients read the counter (`GET /state`) and write it back with the seq they
    /// read: each seq goes to exactly one writer, and no update is lost.
    @Test func sixtyFourReadModifyWriteClientsLoseNoUpdate() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions { $0.durability = .always }) { server in
            try await server.mustInsert("counter", "0")
            let wins = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        var won = 0
                        for _ in 0..<4 {
                            let state = try await server.request(.GET, "/state?event=counter")
                            let record = try #require((state.json as? [[String: Any]])?.first)
                            let seq = try #require(record["seq"] as? Int)
                            let value = try #require(record["data"] as? Int)
                            let reply = try await Self.post(server, #"{"event":"counter","data":\#(value + 1),"expectedSeq":\#(seq)}"#)
                            try #require(reply.status == 200 || reply.status == 409, "\(reply.status) \(reply.body)")
                            if reply.status == 200 { won += 1 }
                        }
                        return won
                    }
                }
                return try await group.reduce(0, +)
            }
            let history = try #require(try server.log.history(of: "counter"))
            #expect(history.map { Int(String(decoding: $0.data, as: UTF8.self)) } == Array(0...wins))
            #expect(wins >= 4)
        }
    }
}

/// `GET /state` (SPEC.md 4.13) and `?prefix=` (4.3).
@Suite(.timeLimit(.minutes(2))) struct StateTests {
    @Test func stateNowAtAnInstantAndAtASeq() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions()) { server in
            try await server.mustInsert("a", "1")
            try await server.mustInsert("b", "2")
            let middle = try server.log.latest(of: "b")!.timestamp
            try await Task.sleep(for: .milliseconds(5))
            try await server.mustInsert("a", "3")
            let now = try await server.request(.GET, "/state")
            #expect(now.status == 200)
            #expect(now.headers["X-Broker-Seq"].first == "3")
            #expect((now.json as? [[String: Any]])?.map { $0["seq"] as? Int } == [2, 3])
            let atSeq = try await server.request(.GET, "/state?seq=2")
            #expect(atSeq.headers["X-Broker-Seq"].first == "2")
            #expect((atSeq.json as? [[String: Any]])?.map { $0["seq"] as? Int } == [1, 2])
            let atTime = try await server.request(.GET, "/state?at=\(middle)")
            #expect(atTime.headers["X-Broker-Seq"].first == "2")
            #expect(atTime.body == atSeq.body)
            let before = try await server.request(.GET, "/state?at=0")
            #expect(before.body == "[]" && before.headers["X-Broker-Seq"].first == "0")
            let future = try await server.request(.GET, "/state?seq=99")
            #expect(future.headers["X-Broker-Seq"].first == "3")
            for bad in ["?at=-1", "?seq=x", "?at=1&seq=1", "?prefix=", "?event=a%01"] {
                #expect(try await server.request(.GET, "/state" + bad).status == 400, "\(bad)")
            }
        }
    }

    @Test func prefixesNarrowStateAndEvents() async throws {
        try await ServerHarness.with { server in
            for (event, data) in [("sensor/1", "1"), ("sensor/2", "2"), ("other", "3"), ("sensors", "4")] {
                try await server.mustInsert(event, data)
            }
            let state = try await server.request(.GET, "/state?prefix=sensor/&event=other")
            #expect((state.json as? [[String: Any]])?.map { $0["event"] as? String } == ["sensor/1", "sensor/2", "other"])
            let stream = try await server.subscribe("?prefix=sensor/")
            #expect(await stream.next(2).map(\.event) == ["sensor/1", "sensor/2"])
            try await server.mustInsert("other", "5")
            try await server.mustInsert("sensor/3", "6")
            #expect(await stream.next(1).map(\.id) == [6])
            let resumed = try await server.subscribe("?prefix=sensor/&lastEventId=2")
            #expect(await resumed.next(1).map(\.id) == [6])
        }
    }
}
