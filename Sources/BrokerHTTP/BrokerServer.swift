import BrokerAuth
public import BrokerStore
import Glibc
public import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
public import NIOCore
import ServiceLifecycle
import UnixSignals

/// The HTTP server over one log: routes, CORS, metrics and the SSE hub.
public enum BrokerServer {
    /// The application serving `store`. Its services include the SSE hub; running it
    /// (for example with `runService()`) serves until graceful shutdown.
    public static func makeApplication(
        store: any EventStore, configuration: ServerConfiguration,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let metrics = BrokerMetrics()
        let hub = SubscriberHub(
            store: store, bufferBytes: configuration.subscriberBufferBytes, heartbeat: configuration.heartbeat,
            metrics: metrics, logger: configuration.logger)
        let router = makeRouter(store: store, configuration: configuration, metrics: metrics, hub: hub)
        var app = Application(
            router: router,
            server: try server(configuration, metrics: metrics),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "broker"),
            onServerRunning: onServerRunning,
            logger: configuration.logger)
        app.addServices(hub)
        if let certificates = configuration.tls {
            app.addServices(CertificateReloader(store: certificates, logger: configuration.logger))
        }
        return app
    }

    /// Every route of the server (SPEC.md 4), with CORS and the JSON error form. The
    /// OpenAPI document describes exactly these (`OpenAPITests`).
    static func makeRouter(store: any EventStore, configuration: ServerConfiguration, metrics: BrokerMetrics, hub: SubscriberHub)
        -> Router<BrokerRequestContext>
    {
        let router = Router(context: BrokerRequestContext.self)
        let access = AccessPolicy(control: configuration.accessControl)
        // Credentials (the token cookie) only ever with one echoed origin, never with `*`.
        let anyOrigin = configuration.allowedOrigin == "*"
        router.add(
            middleware: CORSMiddleware(
                allowOrigin: anyOrigin ? .all : .oneOf(configuration.allowedOrigin),
                allowHeaders: [.contentType, .authorization, .lastEventID, .idempotencyKey],
                allowMethods: [.get, .post, .options],
                allowCredentials: !anyOrigin,
                exposedHeaders: ["Idempotent-Replayed", "X-Broker-Seq", "Retry-After"],
                maxAge: .seconds(3600)))
        let routeMethods = RouteMethods()
        router.add(middleware: JSONErrorMiddleware(metrics: metrics, routes: routeMethods))

        let insert = InsertRoute(
            store: store, maxBodyBytes: configuration.maxBodyBytes, maxBatch: configuration.maxBatch, maxJSONDepth: configuration.maxJSONDepth,
            metrics: metrics,
            access: access)
        let events = EventsRoute(store: store, hub: hub, access: access)
        let reads = ReadRoutes(store: store, hub: hub, metrics: metrics, access: access)
        router.post("/insert") { request, _ in try await insert.handle(request, grant: try await access.grant(for: request)) }
        router.get("/events") { request, context in
            try await events.handle(request, channel: context.channel, grant: try await access.grant(for: request))
        }
        router.get("/audit/**") { request, context in
            try await reads.audit(
                request, event: context.parameters.getCatchAll().joined(separator: "/"), grant: try await access.grant(for: request))
        }
        router.get("/state") { request, _ in try await reads.state(request, grant: try await access.grant(for: request)) }
        router.get("/healthz") { _, _ in reads.health() }
        router.get("/metrics") { request, _ in try reads.prometheus(grant: try await access.grant(for: request)) }
        if configuration.console {
            serve(CompiledAsset(WebAssets.console_html, contentType: "text/html; charset=utf-8"), at: "/", on: router)
        }
        serve(CompiledAsset(WebAssets.openapi_json, contentType: "application/json; charset=utf-8"), at: "/openapi.json", on: router)
        serve(CompiledAsset(WebAssets.broker_js, contentType: "text/javascript; charset=utf-8"), at: "/broker.js", on: router)
        serve(CompiledAsset(WebAssets.broker_d_ts, contentType: "application/typescript; charset=utf-8"), at: "/broker.d.ts", on: router)
        if let directory = configuration.staticDirectory {
            // FileMiddleware answers with a file when what it wraps answers 404: the
            // route gives it that 404, and a missing file stays one.
            router.group("/static")
                .add(middleware: FileMiddleware(directory, urlBasePath: "/static", searchForIndexHtml: true))
                .get("**") { _, _ -> Response in throw HTTPError(.notFound) }
        }
        routeMethods.record(router.routes.map { (path: $0.path.description, method: $0.method.rawValue) })
        return router
    }

    private static func serve(_ asset: CompiledAsset, at path: RouterPath, on router: Router<BrokerRequestContext>) {
        router.get(path) { request, _ in asset.response(to: request) }
    }

    /// Plain HTTP/1.1, or with TLS, HTTP/2 negotiated by ALPN with HTTP/1.1 as fallback.
    static func server(_ configuration: ServerConfiguration, metrics: BrokerMetrics) throws -> HTTPServerBuilder {
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let writeTimeout = TimeAmount(configuration.writeTimeout)
        let timedOut = metrics.streamWriteTimeouts
        let streamTimeout: @Sendable () -> StreamWriteTimeout = { StreamWriteTimeout(timeout: writeTimeout) { timedOut.increment() } }
        guard let certificates = configuration.tls else {
            return .http1(configuration: .init(additionalChannelHandlers: [SmallReceiveBuffers(), streamTimeout()], idleTimeout: idleTimeout))
        }
        // No SmallReceiveBuffers here: this configuration also serves HTTP/2 streams,
        // whose channels do not take a receive allocator (NIO traps on it).
        return try .http2Upgrade(
            tlsConfiguration: certificates.serverConfiguration(),
            configuration: .init(
                idleTimeout: configuration.idleTimeout, gracefulCloseTimeout: gracefulShutdownLimit,
                streamConfiguration: .init(
                    additionalChannelHandlers: [streamTimeout()],
                    idleTimeout: idleTimeout)))
    }

    /// How long a graceful shutdown may wait for connections before cancelling them.
    static let gracefulShutdownLimit = Duration.milliseconds(600)
    /// How long after SIGTERM or SIGINT the process exits whatever still runs.
    static let exitDeadline = Duration.milliseconds(1000)

    /// Serves `store` until SIGINT or SIGTERM, then closes it: no new inserts,
    /// pending ones answered, subscribers closed, everything made durable.
    public static func run(store: any EventStore, configuration: ServerConfiguration) async throws {
        let closer = StoreCloser(store: store)
        let scheme = configuration.tls == nil ? "http" : "https (HTTP/2 and HTTP/1.1)"
        let access = configuration.accessControl == nil ? "off" : "on"
        let watchdog = Task { await exitAfterDeadline(closer: closer, logger: configuration.logger) }
        defer { watchdog.cancel() }
        do {
            let app = try makeApplication(store: store, configuration: configuration) { channel in
                configuration.logger.info(
                    "Broker listening on \(channel.localAddress?.description ?? "?") over \(scheme), access control \(access), \(store.summary)"
                )
            }
            // A client that stops reading mid-stream would hold a graceful shutdown for
            // as long as its connection lives: past this limit the connections are
            // cancelled (SPEC 4.10).
            var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: configuration.logger)
            group.maximumGracefulShutdownDuration = Self.gracefulShutdownLimit
            try await ServiceGroup(configuration: group).run()
        } catch {
            await closer.close()
            throw error
        }
        await closer.close()
        configuration.logger.info("Broker stopped; last seq \(store.lastSeq)")
    }

    /// The last resort of the 2-second promise (SPEC 4.10): an HTTP/2 stream to a
    /// client that reads nothing is not ended by cancelling its task (its write waits
    /// for a flow-control window that never opens), so once the deadline after the
    /// first SIGTERM or SIGINT has passed, the log is closed (fsynced) and the process
    /// exits 0, taking such connections with it.
    private static func exitAfterDeadline(closer: StoreCloser, logger: Logger) async {
        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            try? await Task.sleep(for: exitDeadline)
            if Task.isCancelled { return }
            logger.warning("connections still open \(exitDeadline) after the stop signal: closing the log and exiting")
            await closer.close()
            // _exit: the log is closed; running exit's destructors while connection
            // threads still run would only race with them.
            _exit(0)
        }
    }
}

/// Closes the store once, whichever of the normal stop and the exit deadline comes first.
private final class StoreCloser: Sendable {
    private let store: any EventStore
    private let closing = Locked<Task<Void, Never>?>(nil)

    init(store: any EventStore) { self.store = store }

    func close() async {
        let task = closing.withLock { closing in
            if let closing { return closing }
            let store = self.store
            let task = Task { await store.close() }
            closing = task
            return task
        }
        await task.value
    }
}
