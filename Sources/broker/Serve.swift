import ArgumentParser
import BrokerAuth
import BrokerHTTP
import BrokerJetStream
import BrokerLog
import BrokerNATS
import BrokerStore
import Foundation
import Logging

/// `broker serve`: the HTTP server over a data directory, or as a front over a
/// JetStream stream (`--nats`).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server over a data directory, or with --nats as a front over a replicated JetStream stream.")

    @Option(help: "Address to listen on (env HOST; default 0.0.0.0).")
    var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (env PORT; default 8080).")
    var port: Int?
    @Option(name: .customLong("data-dir"), help: "Data directory (env BROKER_DATA_DIR; default ./data).")
    var dataDir: String?
    @Option(
        help:
            "NATS servers (nats://[user:pass@]host:port, comma-separated): serve as a front over a JetStream stream instead of a data directory (env BROKER_NATS)."
    )
    var nats: String?
    @Option(name: .customLong("nats-stream"), help: "The JetStream stream of a front (env BROKER_NATS_STREAM; default BROKER).")
    var natsStream: String?
    @Option(name: .customLong("nats-replicas"), help: "Replicas of the stream when a front creates it.")
    var natsReplicas: Int = 3
    @Option(
        name: .customLong("nats-wait"),
        help:
            "How long a front waits for NATS and its cluster at start (seconds, or with s, m, h; 0 waits for ever), answering 503 meanwhile; then it exits 69."
    )
    var natsWait: Lifetime = Lifetime(seconds: 120)
    @Option(help: "CORS origin allowed, * for any (env BROKER_ORIGIN; default *).")
    var origin: String?
    @Option(help: "Record compression: none or lz4.")
    var compression: CompressionChoice = .lz4
    @Option(help: "When an insert is acknowledged: always (after fsync, group commit), interval or never.")
    var fsync: FsyncChoice = .always
    @Option(name: .customLong("fsync-interval-ms"), help: "With --fsync interval: the longest time between fsyncs.")
    var fsyncIntervalMs: Int = 200
    @Option(name: .customLong("segment-bytes"), help: "Segment size limit (bytes, or with K, M, G: 64M).")
    var segmentBytes: ByteCount = ByteCount(LogOptions.defaultSegmentBytes)
    @Option(name: .customLong("max-body"), help: "Largest POST /insert body (bytes, or with K, M, G).")
    var maxBody: ByteCount = ByteCount(1 << 20)
    @Option(name: .customLong("max-batch"), help: "Most records in one POST /insert batch.")
    var maxBatch: Int = 10_000
    @Option(
        name: .customLong("idempotency-window"), help: "How long an Idempotency-Key is remembered (seconds, or with s, m, h, d).")
    var idempotencyWindow: Lifetime = Lifetime(seconds: 86400)
    @Option(name: .customLong("idempotency-max-keys"), help: "Most Idempotency-Keys remembered at once (about 64 bytes each).")
    var idempotencyMaxKeys: Int = 1_000_000
    @Option(name: .customLong("heartbeat-ms"), help: "Interval of the SSE ': ping' comment.")
    var heartbeatMs: Int = 15_000
    @Option(
        name: .customLong("subscriber-buffer"),
        help: "Bytes of SSE messages a subscriber may hold, queued or being written, before it is disconnected (with K, M, G).")
    var subscriberBuffer: ByteCount = ByteCount(8 << 20)
    @Option(
        name: .customLong("write-timeout-ms"), help: "Close an event stream whose socket takes none of its waiting bytes for this long.")
    var writeTimeoutMs: Int = 30_000
    @Option(
        name: .customLong("idle-timeout-ms"), help: "Close connections that send nothing for this long while a request is read or between requests.")
    var idleTimeoutMs: Int = 30_000
    @Option(name: .customLong("static"), help: "A directory whose files are served under /static/ (a page of your own, the examples).")
    var staticDirectory: String?
    @Flag(name: .customLong("no-console"), help: "Do not serve the web console at /.")
    var noConsole = false
    @Flag(
        name: .customLong("verify-on-open"),
        help: "Read and check every frame before serving, instead of trusting the checkpoint and checking sealed segments in the background.")
    var verifyOnOpen = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(
        name: .customLong("jwt-secret-file"),
        help: "HMAC secret (32 bytes or more) for HS256/384/512 tokens: turns access control on (env BROKER_JWT_SECRET_FILE).")
    var jwtSecretFile: String?
    @Option(
        name: .customLong("jwt-public-key-file"),
        help: "PEM public key (RSA, EC P-256/P-384, Ed25519) for RS*/ES*/EdDSA tokens: turns access control on (env BROKER_JWT_PUBLIC_KEY_FILE).")
    var jwtPublicKeyFile: String?
    @Option(name: .customLong("jwt-issuer"), help: "Require this iss claim.")
    var jwtIssuer: String?
    @Option(name: .customLong("jwt-audience"), help: "Require this value in the aud claim.")
    var jwtAudience: String?
    @Option(name: .customLong("jwt-leeway-s"), help: "Clock skew allowed on exp, nbf and iat, in seconds.")
    var jwtLeewaySeconds: Int = 30
    @Option(name: .customLong("jwt-cookie"), help: "The cookie browsers send their token in.")
    var jwtCookie: String = "broker_token"
    @Option(
        name: .customLong("public-subscribe"),
        help: "A pattern (name, or prefix ending in *) anyone may read without a token; repeatable (env BROKER_PUBLIC_SUBSCRIBE, comma-separated).")
    var publicSubscribe: [String] = []
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS with HTTP/2 (env BROKER_TLS_CERT). SIGHUP reloads it.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert (env BROKER_TLS_KEY).")
    var tlsKey: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
        if !LogOptions.segmentBytesRange.contains(segmentBytes.value) {
            throw ValidationError("--segment-bytes must be between 4K and 4G")
        }
        if maxBody.value < 1 { throw ValidationError("--max-body must be positive") }
        if maxBatch < 1 { throw ValidationError("--max-batch must be positive") }
        if idempotencyMaxKeys < 1 || idempotencyMaxKeys > 1 << 31 { throw ValidationError("--idempotency-max-keys must be 1 to 2147483648") }
        if heartbeatMs < 1 { throw ValidationError("--heartbeat-ms must be positive") }
        // One record's message must fit beside the one being written, or a record near
        // the body limit would cut off every subscriber.
        if subscriberBuffer.value < 2 * maxBody.value {
            throw ValidationError(
                "--subscriber-buffer (\(subscriberBuffer.value) bytes) must be at least twice --max-body (\(maxBody.value) bytes)")
        }
        if let staticDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: staticDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--static \(staticDirectory) is not a directory")
            }
        }
        if writeTimeoutMs < 1 { throw ValidationError("--write-timeout-ms must be positive") }
        if fsyncIntervalMs < 1 { throw ValidationError("--fsync-interval-ms must be positive") }
        if idleTimeoutMs < 1 { throw ValidationError("--idle-timeout-ms must be positive") }
        if !(1...5).contains(natsReplicas) { throw ValidationError("--nats-replicas must be 1 to 5") }
        if let natsStream, let why = Self.streamNameProblem(natsStream) { throw ValidationError("--nats-stream: \(why)") }
        if jwtLeewaySeconds < 0 { throw ValidationError("--jwt-leeway-s must not be negative") }
        if jwtCookie.isEmpty || jwtCookie.contains(where: { $0 == "=" || $0 == ";" || $0 == " " || $0 == "," }) {
            throw ValidationError("--jwt-cookie must be a cookie name (no =, ;, comma or space)")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, logLevel: logLevel) }
        let openFiles = OpenFileLimit.raiseToHardLimit()
        Logger(label: "broker").debug("open file limit \(openFiles)")
        var configuration = ServerConfiguration()
        configuration.host = host ?? environment["HOST"] ?? configuration.host
        configuration.port = try port ?? environment["PORT"].map(Self.parsePort) ?? configuration.port
        let dataDirectory = dataDir ?? environment["BROKER_DATA_DIR"] ?? "./data"
        configuration.allowedOrigin = origin ?? environment["BROKER_ORIGIN"] ?? configuration.allowedOrigin
        configuration.maxBodyBytes = maxBody.value
        configuration.maxBatch = maxBatch
        configuration.heartbeat = .milliseconds(heartbeatMs)
        configuration.subscriberBufferBytes = subscriberBuffer.value
        configuration.writeTimeout = .milliseconds(writeTimeoutMs)
        configuration.idleTimeout = .milliseconds(idleTimeoutMs)
        configuration.console = !noConsole
        configuration.staticDirectory = staticDirectory
        configuration.logger = Logger(label: "broker")
        var logOptions = LogOptions(
            compression: compression == .lz4, durability: fsync.durability(intervalMs: fsyncIntervalMs),
            segmentBytes: segmentBytes.value, logger: Logger(label: "broker.log"))
        logOptions.useCheckpoint = !verifyOnOpen
        logOptions.idempotencyWindowMs = Int64(idempotencyWindow.seconds) * 1000
        logOptions.idempotencyMaxKeys = idempotencyMaxKeys
        configuration.accessControl = try await accessControl(environment)
        configuration.tls = try certificates(environment)
        if let urls = nats ?? environment["BROKER_NATS"] {
            try await serveFront(urls, configuration, environment)
            return
        }
        let store: any EventStore
        do {
            store = SegmentStore(try EventLog.open(directory: dataDirectory, options: logOptions))
        } catch {
            throw ValidationError("cannot open the log: \(error)")
        }
        try await BrokerServer.run(store: store, configuration: configuration)
    }

    /// A front: answers 503 with what it waits for while NATS, the stream and the index
    /// come up (SPEC.md 7.3), then serves on the same address. Exits 69 when they are not
    /// up within --nats-wait (or JetStream refuses them), 64 for a stream with other settings.
    func serveFront(_ urls: String, _ configuration: ServerConfiguration, _ environment: [String: String]) async throws {
        let options = try frontOptions(urls, environment)
        let status = StartupStatus()
        let logger = configuration.logger
        let opened: (store: JetStreamStore, port: Int)?
        do {
            opened = try await BrokerServer.whileStarting(configuration: configuration, status: status) {
                try await JetStreamStore.open(options) { why in
                    status.set(why)
                    logger.info("waiting: \(why)")
                }
            }
        } catch let error as JetStreamError {
            if case .unavailable = error {
                logger.error("cannot start: \(error)")
                throw ExitCode(69)
            }
            throw ValidationError("cannot open the log: \(error)")
        }
        guard let opened else { return }  // stopped by a signal while starting
        var serving = configuration
        serving.port = opened.port
        try await BrokerServer.run(store: opened.store, configuration: serving)
    }

    /// The JetStream store's options from `--nats` and the front's flags.
    func frontOptions(_ urls: String, _ environment: [String: String]) throws -> JetStreamStore.Options {
        let servers: [NATSServerAddress]
        switch NATSServerAddress.parseList(urls) {
        case .success(let parsed): servers = parsed
        case .failure(let error): throw ValidationError("--nats: \(error)")
        }
        var options = JetStreamStore.Options(servers: servers)
        options.stream = natsStream ?? environment["BROKER_NATS_STREAM"] ?? options.stream
        if let why = Self.streamNameProblem(options.stream) { throw ValidationError("BROKER_NATS_STREAM: \(why)") }
        options.replicas = natsReplicas
        options.duplicateWindow = .seconds(idempotencyWindow.seconds)
        options.startTimeout = natsWait.seconds == 0 ? nil : .seconds(natsWait.seconds)
        options.logger = Logger(label: "broker.jetstream")
        return options
    }

    /// Why `name` cannot name a JetStream stream (and the subjects' first token), or nil.
    static func streamNameProblem(_ name: String) -> String? {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
        return !name.isEmpty && name.utf8.count <= 64 && allowed ? nil : "a stream name is 1 to 64 of A-Z, a-z, 0-9, - and _"
    }

    /// Access control from the key options, or nil when no key is given.
    func accessControl(_ environment: [String: String]) async throws -> AccessControl? {
        let secretFile = jwtSecretFile ?? environment["BROKER_JWT_SECRET_FILE"]
        let publicKeyFile = jwtPublicKeyFile ?? environment["BROKER_JWT_PUBLIC_KEY_FILE"]
        let publicPatterns =
            publicSubscribe.isEmpty
            ? (environment["BROKER_PUBLIC_SUBSCRIBE"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            : publicSubscribe
        guard secretFile != nil || publicKeyFile != nil else {
            if !publicPatterns.isEmpty {
                throw ValidationError("--public-subscribe needs --jwt-secret-file or --jwt-public-key-file: without a key everything is public")
            }
            if jwtIssuer != nil || jwtAudience != nil {
                throw ValidationError("--jwt-issuer and --jwt-audience need --jwt-secret-file or --jwt-public-key-file")
            }
            return nil
        }
        do {
            let keys = try await TokenKeys.load(secretFile: secretFile, publicKeyFile: publicKeyFile)
            let verifier = TokenVerifier(
                keys: keys, options: .init(leeway: .seconds(jwtLeewaySeconds), issuer: jwtIssuer, audience: jwtAudience))
            return AccessControl(verifier: verifier, publicSubscribe: try Scope(parsing: publicPatterns), cookieName: jwtCookie)
        } catch {
            throw ValidationError("access control: \(error)")
        }
    }

    /// The TLS certificate store, or nil when no certificate is given.
    func certificates(_ environment: [String: String]) throws -> CertificateStore? {
        let certificate = tlsCert ?? environment["BROKER_TLS_CERT"]
        let key = tlsKey ?? environment["BROKER_TLS_KEY"]
        switch (certificate, key) {
        case (nil, nil): return nil
        case (let certificate?, let key?):
            do { return try CertificateStore(certificatePath: certificate, keyPath: key) } catch {
                throw ValidationError("TLS: \(error)")
            }
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
    }

    static func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text), (0...65535).contains(port) else { throw ValidationError("PORT must be 0 to 65535, not \(text)") }
        return port
    }
}

enum CompressionChoice: String, ExpressibleByArgument, CaseIterable {
    case none, lz4
}

enum FsyncChoice: String, ExpressibleByArgument, CaseIterable {
    case always, interval, never

    func durability(intervalMs: Int) -> Durability {
        switch self {
        case .always: .always
        case .interval: .interval(milliseconds: intervalMs)
        case .never: .never
        }
    }
}

// swift-format-ignore: AvoidRetroactiveConformances
// Log levels are parsed from their names by ArgumentParser; swift-log cannot depend on it.
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A size in bytes, written as a number with an optional K, M or G (powers of 1024).
struct ByteCount: ExpressibleByArgument {
    let value: Int

    init(_ value: Int) { self.value = value }

    init?(argument: String) {
        var digits = argument.uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) {
            digits.removeLast(suffix.count)
            break
        }
        var multiplier = 1
        if let last = digits.last, let power = ["K": 1, "M": 2, "G": 3][String(last)] {
            multiplier = 1 << (10 * power)
            digits.removeLast()
        }
        guard let number = Int(digits), number >= 0, number <= Int.max / multiplier else { return nil }
        value = number * multiplier
    }

    var defaultValueDescription: String { String(value) }
}
