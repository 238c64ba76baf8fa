import ArgumentParser
import BrokerAuth
import Foundation

/// `broker token`: prints a signed token, for development, scripts and tests.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a signed access token (JWT) with Broker's claims.",
        discussion: "Sign with the server's HMAC secret (--secret-file) or with the private key of its --jwt-public-key-file.")

    @Option(name: .customLong("secret-file"), help: "HMAC secret file, as given to serve --jwt-secret-file.")
    var secretFile: String?
    @Option(name: .customLong("private-key-file"), help: "PEM private key (RSA, EC P-256/P-384, Ed25519).")
    var privateKeyFile: String?
    @Option(help: "HS256, HS384, HS512 with a secret; RS256, RS384, RS512 with an RSA key (default HS256 / RS256).")
    var algorithm: String?
    @Option(help: "A pattern of names the token may insert (name, or prefix ending in *); repeatable.")
    var publish: [String] = []
    @Option(help: "A pattern of names the token may read; repeatable.")
    var subscribe: [String] = []
    @Flag(help: "Allow GET /metrics.")
    var admin = false
    @Option(help: "Lifetime: a number of seconds, or with s, m, h or d (default 1h).")
    var ttl: Lifetime = Lifetime(seconds: 3600)
    @Option(help: "The iss claim.")
    var issuer: String?
    @Option(help: "The aud claim.")
    var audience: String?
    @Option(help: "The sub claim.")
    var subject: String?

    func validate() throws {
        guard (secretFile == nil) != (privateKeyFile == nil) else {
            throw ValidationError("give exactly one of --secret-file and --private-key-file")
        }
        do {
            _ = try Scope(parsing: publish)
            _ = try Scope(parsing: subscribe)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let signer: TokenSigner
        do {
            if let secretFile {
                signer = try await .hmac(secretFile: secretFile, algorithm: algorithm ?? "HS256")
            } else {
                signer = try await .privateKey(file: privateKeyFile!, algorithm: algorithm)
            }
        } catch {
            throw ValidationError("\(error)")
        }
        let now = Date()
        let claims = BrokerClaims(
            broker: .init(publish: publish, subscribe: subscribe, admin: admin),
            expires: now.addingTimeInterval(TimeInterval(ttl.seconds)), issuedAt: now,
            issuer: issuer, audience: audience, subject: subject)
        print(try await signer.sign(claims))
    }
}

/// A duration written as seconds, or with an s, m, h or d suffix.
struct Lifetime: ExpressibleByArgument {
    let seconds: Int

    init(seconds: Int) { self.seconds = seconds }

    init?(argument: String) {
        let units = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = Substring(argument)
        var unit = 1
        if let last = digits.last, let multiplier = units[String(last)] {
            unit = multiplier
            digits = digits.dropLast()
        }
        guard let number = Int(digits), number > 0, number <= 10 * 365 * 86400 / unit else { return nil }
        seconds = number * unit
    }

    var defaultValueDescription: String {
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] where seconds % size == 0 { return "\(seconds / size)\(unit)" }
        return "\(seconds)s"
    }
}
