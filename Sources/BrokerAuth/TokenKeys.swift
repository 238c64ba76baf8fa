import Foundation
import JWTKit

/// The keys a server verifies tokens with, by the algorithm each accepts (SPEC.md
/// 4.11). The key decides the algorithm: a token whose `alg` no key accepts is
/// refused before any signature is checked, `none` included.
public struct TokenKeys: Sendable {
    /// One collection per algorithm, each holding one key as its default signer, so
    /// jwt-kit verifies with exactly that key and algorithm.
    let byAlgorithm: [String: JWTKeyCollection]

    /// The shortest HMAC secret accepted: 256 bits, as long as HS256's output.
    public static let minimumSecretBytes = 32

    /// An HMAC algorithm is used only with a secret at least as long as its output
    /// (RFC 7518 3.2): HS256 32 bytes, HS384 48, HS512 64.
    static func minimumSecretBytes(_ algorithm: String) -> Int {
        switch algorithm {
        case "HS384": 48
        case "HS512": 64
        default: 32
        }
    }

    /// Loads the HMAC secret and/or the PEM public key. At least one must be given.
    public static func load(secretFile: String?, publicKeyFile: String?) async throws(AuthError) -> TokenKeys {
        var byAlgorithm: [String: JWTKeyCollection] = [:]
        if let secretFile {
            let secret = try secret(at: secretFile)
            for (name, digest) in hmacAlgorithms where secret.count >= minimumSecretBytes(name) {
                byAlgorithm[name] = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
            }
        }
        if let publicKeyFile {
            for (name, collection) in try await publicKeyCollections(at: publicKeyFile) { byAlgorithm[name] = collection }
        }
        return TokenKeys(byAlgorithm: byAlgorithm)
    }

    /// The algorithms accepted, sorted.
    public var algorithms: [String] { byAlgorithm.keys.sorted() }

    static let hmacAlgorithms: [(String, DigestAlgorithm)] = [("HS256", .sha256), ("HS384", .sha384), ("HS512", .sha512)]
    static let rsaAlgorithms: [(String, DigestAlgorithm)] = [("RS256", .sha256), ("RS384", .sha384), ("RS512", .sha512)]

    /// A secret file's bytes less one trailing line break (`echo secret > file`).
    static func secret(at path: String) throws(AuthError) -> [UInt8] {
        var bytes = try read(path)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard bytes.count >= minimumSecretBytes else {
            throw .invalidKey(path: path, reason: "an HMAC secret must be at least \(minimumSecretBytes) bytes, this one is \(bytes.count)")
        }
        return bytes
    }

    private static func publicKeyCollections(at path: String) async throws(AuthError) -> [(String, JWTKeyCollection)] {
        let pem = try pemText(at: path)
        if let key = try? Insecure.RSA.PublicKey(pem: pem) {
            var collections: [(String, JWTKeyCollection)] = []
            for (name, digest) in rsaAlgorithms {
                collections.append((name, await JWTKeyCollection().add(rsa: key, digestAlgorithm: digest)))
            }
            return collections
        }
        if let key = try? ES256PublicKey(pem: pem) { return [("ES256", await JWTKeyCollection().add(ecdsa: key))] }
        if let key = try? ES384PublicKey(pem: pem) { return [("ES384", await JWTKeyCollection().add(ecdsa: key))] }
        if let key = try? EdDSA.PublicKey(pem: pem) { return [("EdDSA", await JWTKeyCollection().add(eddsa: key))] }
        throw .invalidKey(
            path: path, reason: "not a PEM public key Broker accepts (RSA of 2048 bits or more, EC on P-256 or P-384, Ed25519)")
    }

    static func pemText(at path: String) throws(AuthError) -> String {
        guard let text = String(validating: try read(path), as: UTF8.self) else {
            throw .invalidKey(path: path, reason: "not a PEM file (not UTF-8 text)")
        }
        return text
    }

    static func read(_ path: String) throws(AuthError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .invalidKey(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
    }
}
