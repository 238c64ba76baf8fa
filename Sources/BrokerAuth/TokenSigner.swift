import Foundation
import JWTKit

/// Signs tokens: `broker token`, scripts and the tests (SPEC.md 5.3).
public struct TokenSigner: Sendable {
    private let keys: JWTKeyCollection
    /// The algorithm of the tokens it signs.
    public let algorithm: String

    /// Signs with an HMAC secret file (the same file the server verifies with).
    public static func hmac(secretFile: String, algorithm: String = "HS256") async throws(AuthError) -> TokenSigner {
        guard let digest = TokenKeys.hmacAlgorithms.first(where: { $0.0 == algorithm })?.1 else {
            throw .invalidKey(path: secretFile, reason: "an HMAC secret signs HS256, HS384 or HS512, not \(algorithm)")
        }
        let secret = try TokenKeys.secret(at: secretFile)
        guard secret.count >= TokenKeys.minimumSecretBytes(algorithm) else {
            throw .invalidKey(
                path: secretFile,
                reason: "\(algorithm) needs a secret of at least \(TokenKeys.minimumSecretBytes(algorithm)) bytes, this one is \(secret.count)")
        }
        return TokenSigner(keys: await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: digest), algorithm: algorithm)
    }

    /// Signs with a PEM private key: RSA (RS256, RS384 or RS512), EC P-256 (ES256),
    /// EC P-384 (ES384) or Ed25519 (EdDSA). `algorithm` nil: RS256 for RSA.
    public static func privateKey(file: String, algorithm: String? = nil) async throws(AuthError) -> TokenSigner {
        let pem = try TokenKeys.pemText(at: file)
        let collection = JWTKeyCollection()
        let chosen: String
        if let key = try? Insecure.RSA.PrivateKey(pem: pem) {
            chosen = algorithm ?? "RS256"
            guard let digest = TokenKeys.rsaAlgorithms.first(where: { $0.0 == chosen })?.1 else {
                throw .invalidKey(path: file, reason: "an RSA key signs RS256, RS384 or RS512, not \(chosen)")
            }
            await collection.add(rsa: key, digestAlgorithm: digest)
        } else if let key = try? ES256PrivateKey(pem: pem) {
            chosen = "ES256"
            await collection.add(ecdsa: key)
        } else if let key = try? ES384PrivateKey(pem: pem) {
            chosen = "ES384"
            await collection.add(ecdsa: key)
        } else if let key = try? EdDSA.PrivateKey(pem: pem) {
            chosen = "EdDSA"
            await collection.add(eddsa: key)
        } else {
            throw .invalidKey(path: file, reason: "not a PEM private key Broker signs with (RSA, EC P-256 or P-384, Ed25519)")
        }
        if let algorithm, algorithm != chosen {
            throw .invalidKey(path: file, reason: "this key signs \(chosen), not \(algorithm)")
        }
        return TokenSigner(keys: collection, algorithm: chosen)
    }

    public func sign(_ claims: BrokerClaims) async throws -> String {
        var header = JWTHeader()
        header.alg = algorithm
        header.typ = "JWT"
        return try await keys.sign(claims, header: header)
    }
}
