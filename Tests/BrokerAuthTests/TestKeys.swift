import BrokerTestSupport
import Foundation

/// Key files made for a test with openssl (Debian's; `make deps` installs it), in a
/// temporary directory removed at deinit.
final class TestKeys: @unchecked Sendable {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "broker-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// A 48-byte HMAC secret file, written with a trailing newline as `echo` would.
    func secret(_ name: String = "secret", bytes: String = String(repeating: "k", count: 64)) throws -> String {
        let path = directory + "/" + name
        try Data((bytes + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A private key file and its public key file, made by `openssl genpkey`.
    /// `kind`: `rsa`, `p256`, `p384` or `ed25519`.
    func pair(_ kind: String) async throws -> (privateKey: String, publicKey: String) {
        let privateKey = directory + "/\(kind).key"
        let publicKey = directory + "/\(kind).pub"
        let generate: [String] =
            switch kind {
            case "rsa": ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            case "p256": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case "p384": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            default: ["genpkey", "-algorithm", "ed25519"]
            }
        try await Self.openssl(generate + ["-out", privateKey])
        try await Self.openssl(["pkey", "-in", privateKey, "-pubout", "-out", publicKey])
        return (privateKey, publicKey)
    }

    /// openssl on a Dispatch thread: an RSA key takes a while, and a test must not hold
    /// one of Swift concurrency's threads waiting for it.
    static func openssl(_ arguments: [String]) async throws {
        let result = try await Command.run("/usr/bin/env", ["openssl"] + arguments)
        guard result.status == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}

/// base64url without padding (RFC 7515), for tokens the tests build by hand.
func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}
