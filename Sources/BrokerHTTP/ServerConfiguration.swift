public import BrokerAuth
import BrokerStore
public import Logging

/// Everything `broker serve` can be told (SPEC.md 4 and 5).
public struct ServerConfiguration: Sendable {
    public var host: String = "0.0.0.0"
    public var port: Int = 8080
    /// CORS: `*` for any origin, or the one origin allowed.
    public var allowedOrigin: String = "*"
    /// Largest accepted `POST /insert` body.
    public var maxBodyBytes: Int = 1 << 20
    /// Most records in one `POST /insert` batch.
    public var maxBatch: Int = 10_000
    /// How often every SSE connection gets a `: ping` comment.
    public var heartbeat: Duration = .seconds(15)
    /// The most bytes of SSE messages one subscriber may hold, queued or being written
    /// (each message counts 64 bytes more); one that would go over is disconnected.
    public var subscriberBufferBytes: Int = 8 << 20
    /// An event stream whose socket takes none of its waiting bytes for this long is
    /// closed (a client whose TCP window stays shut).
    public var writeTimeout: Duration = .seconds(30)
    /// A connection that sends nothing for this long while a request is being read,
    /// or between requests, is closed (so stalled clients cannot pile up). SSE
    /// responses are not affected.
    public var idleTimeout: Duration = .seconds(30)
    /// Serve the web console at `/`.
    public var console: Bool = true
    /// A directory whose files are served under `/static/` (SPEC.md 4.16); nil: none.
    public var staticDirectory: String?
    /// Deepest JSON nesting accepted in `data`.
    public var maxJSONDepth: Int = 512
    public var logger: Logger = Logger(label: "broker")
    /// Access control (SPEC.md 4.11); nil: off, every request may do everything.
    public var accessControl: AccessControl?
    /// HTTPS with HTTP/2 (SPEC.md 4.12); nil: plain HTTP/1.1.
    public var tls: CertificateStore?

    public init() {}
}

/// How tokens are checked and what is public (SPEC.md 4.11).
public struct AccessControl: Sendable {
    public var verifier: TokenVerifier
    /// Names anyone may read, with or without a token.
    public var publicSubscribe: Scope
    /// The cookie a browser sends its token in.
    public var cookieName: String

    public init(verifier: TokenVerifier, publicSubscribe: Scope = .nothing, cookieName: String = "broker_token") {
        self.verifier = verifier
        self.publicSubscribe = publicSubscribe
        self.cookieName = cookieName
    }
}
