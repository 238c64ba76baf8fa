import BrokerNATS
import BrokerTestSupport
import Foundation
import Logging
import Testing

/// The client against a real `nats-server` (single node, JetStream on).
@Suite(.serialized) struct NATSClientTests {
    static let logger = Logger(label: "nats-test")

    private func connected(to server: NATSServerProcess) async throws -> NATSClient {
        let address = try NATSServerAddress.parse(server.url).get()
        let client = NATSClient(options: .init(servers: [address]), logger: Self.logger)
        client.start()
        #expect(await client.waitUntilConnected(timeout: .seconds(5)))
        return client
    }

    @Test func requestAndReplyWithHeaders() async throws {
        let server = try NATSServerProcess()
        let client = try await connected(to: server)
        defer { Task { await client.close() } }
        _ = client.subscribe("echo") { message in
            var headers = NATSHeaders()
            headers.add("Seen", message.headers?["X-Test"] ?? "none")
            try? client.publish(message.replyTo!, headers: headers, payload: message.payload.reversed())
        }
        try await client.flush()
        var headers = NATSHeaders()
        headers.add("X-Test", "a value: with colon")
        let answer = try await client.request("echo", headers: headers, payload: Array("abc".utf8), timeout: .seconds(2))
        #expect(answer.payload == Array("cba".utf8))
        #expect(answer.headers?["seen"] == "a value: with colon")
        // Nobody listens: the server says so at once (503), no waiting for the timeout.
        await #expect(throws: NATSError.noResponders(subject: "nobody")) {
            _ = try await client.request("nobody", payload: [], timeout: .seconds(5))
        }
        #expect(throws: NATSError.self) { try client.publish("has space", payload: []) }
    }

    /// Requests sent together share writes (one outbound buffer): each still gets its own answer.
    @Test func concurrentRequestsEachGetTheirAnswerAndUnansweredOnesTimeOut() async throws {
        let server = try NATSServerProcess()
        let client = try await connected(to: server)
        defer { Task { await client.close() } }
        _ = client.subscribe("double") { message in
            try? client.publish(message.replyTo!, payload: message.payload + message.payload)
        }
        _ = client.subscribe("silent") { _ in }
        try await client.flush()
        let answers = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for n in 0..<500 {
                group.addTask { (n, try await client.request("double", payload: Array("\(n)".utf8), timeout: .seconds(10)).payload) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers.count == 500)
        #expect(answers.allSatisfy { $0.value == Array("\($0.key)\($0.key)".utf8) })
        let started = ContinuousClock.now
        await #expect(throws: NATSError.timeout(subject: "silent")) {
            _ = try await client.request("silent", payload: [], timeout: .milliseconds(200))
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(200) && waited < .seconds(5))
    }

    @Test func jetStreamPublishDeduplicatesAndChecksTheSubjectSeq() async throws {
        let server = try NATSServerProcess()
        let client = try await connected(to: server)
        defer { Task { await client.close() } }
        let jetStream = JetStream(client: client)
        #expect(try await jetStream.streamInfo("T") == nil)
        _ = try await jetStream.createStream(StreamConfiguration(name: "T", subjects: ["T.>"], replicas: 1, duplicateWindow: .seconds(60)))
        var headers = NATSHeaders()
        headers.add("Nats-Msg-Id", "k1")
        let first = try await jetStream.publish("T.a", headers: headers, payload: Array("1".utf8))
        let again = try await jetStream.publish("T.a", headers: headers, payload: Array("1".utf8))
        #expect(first.seq == 1 && first.duplicate != true)
        #expect(again.seq == 1 && again.duplicate == true)
        var expecting = NATSHeaders()
        expecting.add("Nats-Expected-Last-Subject-Sequence", "0")
        await #expect(throws: NATSError.self) { _ = try await jetStream.publish("T.a", headers: expecting, payload: []) }
        let second = try await jetStream.publish("T.b", headers: expecting, payload: Array("2".utf8))
        #expect(second.seq == 2)
        let stored = try #require(try await jetStream.directGet(stream: "T", seq: 2))
        #expect(stored.subject == "T.b" && stored.payload == Array("2".utf8))
        #expect(abs(stored.timeNanoseconds / 1_000_000_000 - Int64(Date.now.timeIntervalSince1970)) < 60)
        #expect(try await jetStream.directGet(stream: "T", seq: 99) == nil)
    }

    @Test func orderedConsumerDeliversEverythingInOrderAcrossAServerRestart() async throws {
        let port = try NATSServerProcess.freePort()
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("nats-restart-\(UUID().uuidString)").path
        var server: NATSServerProcess? = try NATSServerProcess(port: port, storeDirectory: store)
        let client = try await connected(to: server!)
        defer { Task { await client.close() } }
        let jetStream = JetStream(client: client)
        _ = try await jetStream.createStream(StreamConfiguration(name: "O", subjects: ["O.>"], replicas: 1, duplicateWindow: .seconds(60)))
        for index in 1...50 { _ = try await jetStream.publish("O.x", payload: Array(String(index).utf8)) }
        let (consumer, deliveries) = OrderedConsumer.stream(
            jetStream: jetStream, stream: "O", startSeq: 1, heartbeat: .milliseconds(500), logger: Self.logger)
        consumer.start()
        defer { consumer.stop() }
        var iterator = deliveries.makeAsyncIterator()
        for expected in UInt64(1)...50 {
            let delivery = try #require(await iterator.next())
            #expect(delivery.message.seq == expected)
            #expect(delivery.message.payload == Array(String(expected).utf8))
        }
        // The server goes away and comes back with the same store: the consumer is
        // made again after seq 50 and nothing is repeated.
        server?.kill()
        server = nil
        let restarted = try NATSServerProcess(port: port, storeDirectory: store)
        #expect(await client.waitUntilConnected(timeout: .seconds(10)))
        for index in 51...60 {
            var attempts = 0
            while true {
                do {
                    _ = try await jetStream.publish("O.x", payload: Array(String(index).utf8))
                    break
                } catch {
                    attempts += 1
                    if attempts > 100 { throw error }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        for expected in UInt64(51)...60 {
            let delivery = try #require(await iterator.next())
            #expect(delivery.message.seq == expected)
        }
        #expect(client.connectionCount == 2)
        restarted.kill()
        try? FileManager.default.removeItem(atPath: store)
    }
}
