import Foundation
import Testing

@Suite(.timeLimit(.minutes(2))) struct AuditTests {
    @Test func auditListsHistoryOldestFirstAndPages() async throws {
        try await RouterHarness.with { server in
            for i in 1...30 { try await server.mustInsert(i % 2 == 0 ? "sensor/1" : "other name é", "{\"i\":\(i)}") }
            let all = try await server.request(.GET, "/audit/sensor/1")
            #expect(all.status == 200)
            let records = try #require(all.json as? [[String: Any]])
            #expect(records.map { $0["seq"] as? Int } == Array(stride(from: 2, through: 30, by: 2)))
            #expect(records.allSatisfy { $0["event"] as? String == "sensor/1" && $0["timestamp"] != nil && $0["data"] != nil })

            let encoded = try await server.request(.GET, "/audit/other%20name%20%C3%A9?limit=3")
            #expect((encoded.json as? [[String: Any]])?.map { $0["seq"] as? Int } == [1, 3, 5])

            let page = try await server.request(.GET, "/audit/sensor/1?after=10&limit=4")
            #expect((page.json as? [[String: Any]])?.map { $0["seq"] as? Int } == [12, 14, 16, 18])

            let first = records[3]["timestamp"] as! Int
            let last = records[6]["timestamp"] as! Int
            let window = try await server.request(.GET, "/audit/sensor/1?since=\(first)&until=\(last)")
            let seqs = (window.json as? [[String: Any]])?.compactMap { $0["seq"] as? Int } ?? []
            #expect(seqs.contains(8) && seqs.contains(14))
            #expect(seqs.allSatisfy { $0 % 2 == 0 })
        }
    }

    @Test func unknownEventIs404AndBadQueryIs400() async throws {
        try await RouterHarness.with { server in
            try await server.mustInsert("known", "1")
            let missing = try await server.request(.GET, "/audit/unknown")
            #expect(missing.status == 404)
            #expect(missing.object["error"] as? String == #"event "unknown" was never inserted"#)
            for query in ["limit=-1", "after=x", "since=1.5", "until="] {
                let bad = try await server.request(.GET, "/audit/known?\(query)")
                #expect(bad.status == 400, "\(query)")
                #expect(bad.object["error"] != nil)
            }
            let empty = try await server.request(.GET, "/audit/known?after=1")
            #expect(empty.status == 200)
            #expect(empty.body == "[]")
        }
    }
}
