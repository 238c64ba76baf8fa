import BrokerNATS
import Foundation
import Logging
import Testing

/// What the client sends around its handshake, against a server that holds the
/// handshake open (the real one answers too fast to act in between).
@Suite struct NATSHandshakeTests {
    /// Waits until `condition` holds, at most `seconds`.
    private func eventually(seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test func subscriptionsChangedDuringTheHandshakeReachTheConnection() async throws {
        let server = try HeldHandshakeServer()
        server.start()
        defer { server.stop() }
        let address = try NATSServerAddress.parse("nats://127.0.0.1:\(server.port)").get()
        let client = NATSClient(options: .init(servers: [address]), logger: Logger(label: "nats-handshake-test"))
        let early = client.subscribe("early.subject") { _ in }
        client.start()
        // The greeting (CONNECT, the subscriptions so far, PING) has arrived; no PONG yet.
        #expect(await eventually { server.received.contains("PING\r\n") })
        #expect(server.received.contains("SUB early.subject \(early)\r\n"))
        #expect(!client.isConnected)
        let late = client.subscribe("late.subject") { _ in }
        client.unsubscribe(early)
        server.releasePong()
        #expect(await client.waitUntilConnected(timeout: .seconds(5)))
        #expect(await eventually { server.received.contains("SUB late.subject \(late)\r\n") })
        #expect(await eventually { server.received.contains("UNSUB \(early)\r\n") })
        await client.close()
    }
}
