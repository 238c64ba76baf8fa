import BrokerAuth
import Foundation
import JWTKit
import Synchronization
import Testing

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let date = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite struct TokenVerifierTests {
    let keys: TestKeys
    let clock = TestClock()

    init() throws { keys = try TestKeys() }

    func verifier(secret: String? = nil, publicKey: String? = nil, options: TokenVerifier.Options = .init()) async throws -> TokenVerifier {
        let loaded = try await TokenKeys.load(secretFile: secret, publicKeyFile: publicKey)
        let clock = self.clock
        return TokenVerifier(keys: loaded, options: options, now: { clock.now })
    }

    func claims(publish: [String]? = nil, subscribe: [String]? = nil, admin: Bool? = nil, ttl: TimeInterval = 600) -> BrokerClaims {
        BrokerClaims(broker: .init(publish: publish, subscribe: subscribe, admin: admin), expires: clock.now.addingTimeInterval(ttl))
    }

    func refusal(_ verifier: TokenVerifier, _ token: String) async -> String? {
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func hmacTokenGrantsItsScopes() async throws {
        let secret = try keys.secret()
        let verifier = try await verifier(secret: secret)
        for algorithm in ["HS256", "HS384", "HS512"] {
            let token = try await TokenSigner.hmac(secretFile: secret, algorithm: algorithm)
                .sign(claims(publish: ["a/*"], subscribe: ["a/*", "p"], admin: true))
            let grant = try await verifier.verify(token)
            #expect(grant.publish.allows("a/1") && !grant.publish.allows("b/1"), "\(algorithm)")
            #expect(grant.subscribe.allows("p") && grant.admin && grant.hasToken)
            #expect(grant.validUntil == clock.now.addingTimeInterval(600 + 30))
        }
    }

    @Test func tokenWithoutBrokerClaimAllowsNothing() async throws {
        let secret = try keys.secret()
        let token = try await TokenSigner.hmac(secretFile: secret).sign(BrokerClaims(broker: nil, expires: clock.now + 60))
        let grant = try await verifier(secret: secret).verify(token)
        #expect(grant.publish.isEmpty && grant.subscribe.isEmpty && !grant.admin)
    }

    @Test func publicKeyAlgorithms() async throws {
        for (kind, algorithms) in [("rsa", ["RS256", "RS384", "RS512"]), ("p256", ["ES256"]), ("p384", ["ES384"]), ("ed25519", ["EdDSA"])] {
            let (privateKey, publicKey) = try await keys.pair(kind)
            let verifier = try await verifier(publicKey: publicKey)
            for algorithm in algorithms {
                let signer = try await TokenSigner.privateKey(file: privateKey, algorithm: algorithm)
                let grant = try await verifier.verify(try await signer.sign(claims(subscribe: ["x"])))
                #expect(grant.subscribe.allows("x"), "\(kind) \(algorithm)")
            }
        }
    }

    @Test func algNoneIsRefused() async throws {
        let verifier = try await verifier(secret: try keys.secret())
        let header = base64URL(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let payload = base64URL(Array(#"{"broker":{"publish":["*"]},"exp":\#(Int(clock.now.timeIntervalSince1970) + 600)}"#.utf8))
        for token in ["\(header).\(payload).", "\(header).\(payload)"] {
            let reason = await refusal(verifier, token)
            #expect(reason != nil)
        }
        #expect(await refusal(verifier, "\(header).\(payload).")?.contains(#"algorithm "none" is not accepted"#) == true)
    }

    @Test func wrongKeyIsRefused() async throws {
        let verifier = try await verifier(secret: try keys.secret())
        let other = try keys.secret("other", bytes: String(repeating: "z", count: 48))
        let token = try await TokenSigner.hmac(secretFile: other).sign(claims(publish: ["*"]))
        #expect(await refusal(verifier, token) == "the token's signature does not verify")
        // A token with its signature altered by one character.
        let good = try await TokenSigner.hmac(secretFile: try keys.secret("good")).sign(claims(publish: ["*"]))
        var altered = Array(good)
        altered[altered.count - 2] = altered[altered.count - 2] == "A" ? "B" : "A"
        #expect(await refusal(try await self.verifier(secret: keys.directory + "/good"), String(altered)) != nil)
    }

    /// Key confusion: an HS256 token whose HMAC key is the server's RSA public key file.
    @Test func hmacSignedWithThePublicKeyIsRefused() async throws {
        let (_, publicKey) = try await keys.pair("rsa")
        let forged = try await TokenSigner.hmac(secretFile: publicKey).sign(claims(publish: ["*"], admin: true))
        let publicOnly = try await verifier(publicKey: publicKey)
        #expect(await refusal(publicOnly, forged)?.contains(#"algorithm "HS256" is not accepted"#) == true)
        let both = try await verifier(secret: try keys.secret(), publicKey: publicKey)
        #expect(await refusal(both, forged) == "the token's signature does not verify")
    }

    @Test func timesAreCheckedWithTheLeeway() async throws {
        let secret = try keys.secret()
        let signer = try await TokenSigner.hmac(secretFile: secret)
        let verifier = try await verifier(secret: secret, options: .init(leeway: .seconds(30)))
        let token = try await signer.sign(claims(subscribe: ["x"], ttl: 10))
        _ = try await verifier.verify(token)
        clock.advance(39)
        _ = try await verifier.verify(token)  // 10 s ttl + 30 s leeway not yet over
        clock.advance(1)
        #expect(await refusal(verifier, token)?.contains("expired") == true)  // the cache does not keep it alive

        let later = clock.now.addingTimeInterval(120)
        let notYet = try await signer.sign(BrokerClaims(broker: .init(subscribe: ["x"]), expires: later + 600, notBefore: later))
        #expect(await refusal(verifier, notYet)?.contains("not valid before") == true)
        let future = try await signer.sign(BrokerClaims(broker: .init(subscribe: ["x"]), expires: later + 600, issuedAt: later))
        #expect(await refusal(verifier, future)?.contains("issued in the future") == true)
        clock.advance(95)  // 25 s before nbf: inside the leeway
        _ = try await verifier.verify(notYet)
    }

    struct ClaimsWithoutExp: JWTPayload {
        var broker: BrokerClaims.Permissions
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    @Test func expIsRequired() async throws {
        let secret = try keys.secret()
        let signer = await JWTKeyCollection().add(hmac: HMACKey(from: String(repeating: "k", count: 64)), digestAlgorithm: .sha256)
        let token = try await signer.sign(ClaimsWithoutExp(broker: .init(publish: ["*"])))
        #expect(await refusal(try await verifier(secret: secret), token)?.contains("exp is required") == true)
    }

    @Test func malformedTokensAreRefused() async throws {
        let verifier = try await verifier(secret: try keys.secret())
        let hugeHeader = base64URL(Array(("{\"alg\":\"HS256\",\"x\":\"" + String(repeating: "a", count: 64 << 10) + "\"}").utf8))
        for token in [
            "", "abc", "a.b", "!!!.@@@.###", "e30.e30.e30", "\(hugeHeader).e30.e30",
            base64URL(Array("not json".utf8)) + ".e30.e30", String(repeating: ".", count: 5),
        ] {
            #expect(await refusal(verifier, token) != nil, "\(token.prefix(40))")
        }
        #expect(await refusal(verifier, "\(hugeHeader).e30.e30")?.contains("more than 8192") == true)
    }

    @Test func invalidPatternInClaimsMakesTheTokenInvalid() async throws {
        let secret = try keys.secret()
        let token = try await TokenSigner.hmac(secretFile: secret).sign(claims(subscribe: ["ok", ""]))
        #expect(await refusal(try await verifier(secret: secret), token)?.contains("invalid pattern") == true)
    }

    @Test func issuerAndAudience() async throws {
        let secret = try keys.secret()
        let signer = try await TokenSigner.hmac(secretFile: secret)
        let verifier = try await verifier(secret: secret, options: .init(issuer: "auth.example", audience: "broker"))
        let expires = clock.now + 600
        let good = try await signer.sign(BrokerClaims(broker: .init(subscribe: ["x"]), expires: expires, issuer: "auth.example", audience: "broker"))
        _ = try await verifier.verify(good)
        let wrongIssuer = try await signer.sign(BrokerClaims(broker: nil, expires: expires, issuer: "evil", audience: "broker"))
        #expect(await refusal(verifier, wrongIssuer)?.contains("issuer") == true)
        let noAudience = try await signer.sign(BrokerClaims(broker: nil, expires: expires, issuer: "auth.example"))
        #expect(await refusal(verifier, noAudience)?.contains("audience") == true)
    }

    @Test func unusableKeysAreRefusedAtLoad() async throws {
        let short = try keys.secret("short", bytes: "too-short")
        await #expect(throws: AuthError.self) { _ = try await TokenKeys.load(secretFile: short, publicKeyFile: nil) }
        await #expect(throws: AuthError.self) { _ = try await TokenKeys.load(secretFile: keys.directory + "/missing", publicKeyFile: nil) }
        let notPEM = try keys.secret("garbage", bytes: String(repeating: "g", count: 64))
        await #expect(throws: AuthError.self) { _ = try await TokenKeys.load(secretFile: nil, publicKeyFile: notPEM) }
        let (privateKey, _) = try await keys.pair("p256")
        await #expect(throws: AuthError.self) { _ = try await TokenKeys.load(secretFile: nil, publicKeyFile: privateKey) }
    }
}
