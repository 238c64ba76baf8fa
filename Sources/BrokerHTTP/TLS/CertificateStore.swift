import BrokerStore
import Logging
import NIOCore
public import NIOSSL

/// The server's certificate chain and private key, read from PEM files and read again
/// on request (SIGHUP, SPEC.md 4.12). Every TLS handshake takes the pair current at
/// that moment, so open connections keep theirs and new ones get the new pair.
public final class CertificateStore: Sendable {
    public let certificatePath: String
    public let keyPath: String

    private struct Pair: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    private let current: Locked<Pair>

    /// Reads both files; throws when either cannot be used or they do not match.
    public init(certificatePath: String, keyPath: String) throws(TLSFileError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        current = Locked(try Self.load(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// Reads both files again; on failure the current pair stays and the error is thrown.
    public func reload() throws(TLSFileError) {
        let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        current.withLock { $0 = pair }
    }

    /// The first certificate of the current chain, for logs and tests.
    public var leafCertificate: NIOSSLCertificate { current.withLock { $0.chain[0] } }

    /// A server configuration (TLS 1.2 or later) whose every handshake uses the pair
    /// current at that moment.
    func serverConfiguration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        // A closing connection waits this long for the peer's close_notify: bounded so
        // that a client that stopped reading cannot hold a shutdown (SPEC 4.10).
        configuration.shutdownTimeout = .milliseconds(500)
        configuration.sslContextCallback = { [current] _, promise in
            let pair = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(certificatePath: String, keyPath: String) throws(TLSFileError) -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TLSFileError(path: certificatePath, reason: "not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFileError(path: certificatePath, reason: "holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw TLSFileError(path: keyPath, reason: "not a readable PEM private key (\(error))")
        }
        // A context is where BoringSSL checks that the key belongs to the certificate.
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw TLSFileError(path: keyPath, reason: "does not match the certificate in \(certificatePath) (\(error))")
        }
        return Pair(chain: chain, key: key)
    }
}

/// A certificate or key file that cannot be used.
public struct TLSFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
