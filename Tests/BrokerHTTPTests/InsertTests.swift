import BrokerHTTP
import BrokerLog
import Foundation
import Testing

@Suite(.timeLimit(.minutes(2))) struct InsertTests {
    @Test func insertAnswersWithTheStoredRecord() async throws {
        try await RouterHarness.with { server in
            let reply = try await server.insert("temp", #"{ "c" : 21.50, "list": [1.50E+10, -0.0, "a\nb \u00e9"] }"#)
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first?.hasPrefix("application/json") == true)
            let object = reply.object
            #expect(object["seq"] as? Int == 1)
            #expect(object["event"] as? String == "temp")
            #expect((object["timestamp"] as? NSNumber)?.int64Value ?? 0 > 1_700_000_000_000)
            // Compact, numbers with their digits unchanged, strings as written.
            #expect(reply.body.hasSuffix(#","data":{"c":21.50,"list":[1.50E+10,-0.0,"a\nb \u00e9"]}}"#))
            #expect(try await server.mustInsert("temp", "2") == 2)
            #expect(server.store.lastSeq == 2)
        }
    }

    @Test func everyJSONShapeRoundTripsThroughAudit() async throws {
        let shapes = [
            "null", "true", "false", "0", "-12.5e-3", "123456789012345678901234567890", #""""#,
            #""\"quoted\" \\ \/ \b\f\n\r\t \ud83d\ude00""#, "[]", "{}", #"{"a":[{"b":null}]}"#,
            String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
        ]
        try await RouterHarness.with { server in
            for shape in shapes { try await server.mustInsert("shape", shape) }
            let audit = try await server.request(.GET, "/audit/shape")
            #expect(audit.status == 200)
            #expect(audit.body.hasPrefix("[{"))
            let array = try #require(audit.json as? [[String: Any]])
            #expect(array.count == shapes.count)
            // The raw text of each data member, in order, equals what was sent.
            for shape in shapes { #expect(audit.body.contains(#","data":\#(shape)}"#)) }
        }
    }

    @Test func badInputGetsAClearErrorAndChangesNothing() async throws {
        try await RouterHarness.with(ServerHarness.configuration { $0.maxBodyBytes = 1500 }, log: ServerHarness.logOptions()) { server in
            try await server.mustInsert("keep", "1")
            let before = try Self.segmentBytes(server.dataDirectory)
            let json = [("Content-Type", "application/json")]
            let cases: [(String, [UInt8], [(String, String)], Int)] = [
                ("no content type", Array(#"{"event":"a","data":1}"#.utf8), [], 415),
                ("text/plain", Array(#"{"event":"a","data":1}"#.utf8), [("Content-Type", "text/plain")], 415),
                ("invalid JSON", Array(#"{"event":"a","data":}"#.utf8), json, 400),
                ("trailing garbage", Array(#"{"event":"a","data":1} x"#.utf8), json, 400),
                ("not an object", Array(#"["event","a"]"#.utf8), json, 400),
                ("missing event", Array(#"{"data":1}"#.utf8), json, 400),
                ("event not a string", Array(#"{"event":5,"data":1}"#.utf8), json, 400),
                ("empty event", Array(#"{"event":"","data":1}"#.utf8), json, 400),
                ("control character", Array(#"{"event":"a\u0001b","data":1}"#.utf8), json, 400),
                ("newline in name", Array(#"{"event":"a\nb","data":1}"#.utf8), json, 400),
                ("name too long", Array(#"{"event":"\#(String(repeating: "n", count: 257))","data":1}"#.utf8), json, 400),
                ("missing data", Array(#"{"event":"a"}"#.utf8), json, 400),
                ("duplicate event", Array(#"{"event":"a","event":"b","data":1}"#.utf8), json, 400),
                ("invalid UTF-8", Array(#"{"event":"a","data":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), json, 400),
                ("lone surrogate name", Array(#"{"event":"\ud800","data":1}"#.utf8), json, 400),
                (
                    "too deep", Array(#"{"event":"a","data":\#(String(repeating: "[", count: 600) + String(repeating: "]", count: 600))}"#.utf8),
                    json, 400
                ),
                ("too large", Array(#"{"event":"a","data":"\#(String(repeating: "x", count: 2000))"}"#.utf8), json, 413),
                ("empty body", [], json, 400),
            ]
            for (name, body, headers, status) in cases {
                let reply = try await server.request(.POST, "/insert", body: body, headers: headers)
                #expect(reply.status == status, "\(name): \(reply.status) \(reply.body)")
                #expect((reply.object["error"] as? String)?.isEmpty == false, "\(name): \(reply.body)")
            }
            #expect(server.log.lastSeq == 1)
            #expect(try Self.segmentBytes(server.dataDirectory) == before)
        }
    }

    @Test func unknownRoutesAndMethodsAnswerJSON() async throws {
        try await RouterHarness.with { server in
            let missing = try await server.request(.GET, "/nowhere")
            #expect(missing.status == 404)
            #expect(missing.object["error"] != nil)
            let wrongMethod = try await server.request(.GET, "/insert")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["Allow"] == ["POST"])
            #expect(wrongMethod.object["error"] as? String == "GET is not allowed on /insert")
            // A catch-all route's paths too; the name of a route never is.
            let audit = try await server.request(.DELETE, "/audit/sensor/1")
            #expect(audit.status == 405 && audit.headers["Allow"] == ["GET"])
            #expect(try await server.request(.GET, "/insertx").status == 404)
            #expect(try await server.request(.GET, "/audit").status == 404)
        }
    }

    @Test func healthAndMetrics() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions()) { server in
            try await server.mustInsert("a", "1")
            try await server.mustInsert("b", "2")
            _ = try await server.request(.POST, "/insert", body: Array("{}".utf8), headers: [("Content-Type", "application/json")])
            let health = try await server.request(.GET, "/healthz")
            #expect(health.status == 200)
            #expect(health.body == #"{"status":"ok","lastSeq":2}"#)
            let metrics = try await server.request(.GET, "/metrics")
            #expect(metrics.status == 200)
            for line in [
                "broker_inserts_total 2", "broker_inserts_rejected_total 1", "broker_segments 1",
                "broker_subscribers 0", "broker_last_seq 2",
            ] {
                // Gauges render as floats ("2.0").
                #expect(metrics.body.contains(line + "\n") || metrics.body.contains(line + ".0\n"), "missing \(line)")
            }
            for prefix in [
                "broker_bytes_appended_total ", "broker_fsyncs_total", "broker_subscribers_dropped_total",
                "broker_request_duration_seconds_bucket{",
            ] {
                #expect(metrics.body.contains(prefix), "missing \(prefix)")
            }
        }
    }

    @Test func concurrentInsertsGetUniqueSeqsAndShareFsyncs() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions { $0.durability = .always }) { server in
            let seqs = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for i in 0..<64 { group.addTask { try await server.mustInsert("c\(i % 4)", "\(i)") } }
                var all: [UInt64] = []
                for try await seq in group { all.append(seq) }
                return all
            }
            #expect(seqs.sorted() == Array(1...64))
            #expect(server.log.statistics.fsyncs < 64)
        }
    }

    @Test func aFailedAppendAnswers503AndReadsKeepWorking() async throws {
        try await RouterHarness.with(log: ServerHarness.logOptions()) { server in
            try await server.mustInsert("a", "1")
            await server.log.close()  // every later append fails, as after a failed fsync
            let reply = try await server.insert("a", "2")
            #expect(reply.status == 503)
            #expect((reply.object["error"] as? String)?.contains("could not store") == true)
            let audit = try await server.request(.GET, "/audit/a")
            #expect(audit.status == 200)
            #expect((audit.json as? [[String: Any]])?.count == 1)
        }
    }

    @Test func aFullDiskAnswers503KeepsServingReadsAndRecovers() async throws {
        let faults = SwitchableFaults()
        try await ServerHarness.with(log: Self.durable(with: faults)) { server in
            try await server.mustInsert("disk", "1")
            let stream = try await server.subscribe()
            #expect(await stream.next(1).map(\.id) == [1])
            faults.failWrites()
            for _ in 0..<3 {
                let reply = try await server.insert("disk", "2")
                #expect(reply.status == 503)
                #expect((reply.object["error"] as? String)?.contains("No space left on device") == true, "\(reply.body)")
            }
            #expect(try await server.request(.GET, "/healthz").body == #"{"status":"ok","lastSeq":1}"#)
            #expect((try await server.request(.GET, "/audit/disk").json as? [Any])?.count == 1)
            faults.heal()
            #expect(try await server.mustInsert("disk", "3") == 2)
            // Subscribers saw no failed record, and the next one arrives.
            #expect(await stream.next(1) == [SSEEvent(id: 2, event: "disk", data: "3")])
        }
    }

    /// After a failed fsync the log refuses appends until reopened: health says so.
    @Test func aFailedFsyncMakesHealthAnswer503WithTheReason() async throws {
        let faults = SwitchableFaults()
        try await RouterHarness.with(log: Self.durable(with: faults)) { server in
            try await server.mustInsert("sync", "1")
            faults.failSyncs()
            #expect(try await server.insert("sync", "2").status == 503)
            faults.heal()
            let health = try await server.request(.GET, "/healthz")
            #expect(health.status == 503)
            #expect(health.object["status"] as? String == "failed")
            #expect((health.object["error"] as? String)?.contains("fsync failed") == true, "\(health.body)")
            #expect(try await server.insert("sync", "3").status == 503)
        }
    }

    /// A server under `always` whose storage fails when `faults` says so.
    static func durable(with faults: SwitchableFaults) -> LogOptions {
        ServerHarness.logOptions {
            $0.durability = .always
            $0.faults = faults
        }
    }

    static func segmentBytes(_ directory: String) throws -> [String: Data] {
        var all: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".seg") {
            all[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return all
    }
}
