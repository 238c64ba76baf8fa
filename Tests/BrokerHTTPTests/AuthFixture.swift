import BrokerAuth
import BrokerHTTP
import Foundation

/// An HMAC secret file and tokens signed with it, for servers with access control on.
struct AuthFixture {
    let secretFile: String
    let signer: TokenSigner

    static func make(secret: String = String(repeating: "s", count: 40)) async throws -> AuthFixture {
        let path = NSTemporaryDirectory() + "broker-secret-\(UUID().uuidString)"
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return AuthFixture(secretFile: path, signer: try await TokenSigner.hmac(secretFile: path))
    }

    func remove() { try? FileManager.default.removeItem(atPath: secretFile) }

    /// Access control with this secret, `public` readable by anyone, no clock leeway.
    func accessControl(public patterns: [String] = [], leeway: Duration = .zero) async throws -> AccessControl {
        let keys = try await TokenKeys.load(secretFile: secretFile, publicKeyFile: nil)
        return AccessControl(
            verifier: TokenVerifier(keys: keys, options: .init(leeway: leeway)), publicSubscribe: try Scope(parsing: patterns))
    }

    func token(publish: [String] = [], subscribe: [String] = [], admin: Bool = false, ttl: TimeInterval = 600) async throws -> String {
        try await signer.sign(
            BrokerClaims(
                broker: .init(publish: publish, subscribe: subscribe, admin: admin), expires: Date().addingTimeInterval(ttl)))
    }
}

func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }
