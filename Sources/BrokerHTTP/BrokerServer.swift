import BrokerLog
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP server over one log: routes, CORS, metrics and the SSE hub.
public enum BrokerServer {
    /// The application serving `log`. Its services include the SSE hub; running it
    /// (for example with `runService()`) serves until graceful shutdown.
    public static func makeApplication(
        log: EventLog, configuration: ServerConfiguration,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let metrics = BrokerMetrics()
        let hub = SubscriberHub(
            log: log, capacity: configuration.subscriberBuffer, heartbeat: configuration.heartbeat,
            metrics: metrics, logger: configuration.logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: CORSMiddleware(
            allowOrigin: configuration.allowedOrigin == "*" ? .all : .oneOf(configuration.allowedOrigin),
            allowHeaders: [.contentType, .authorization, .lastEventID],
            allowMethods: [.get, .post, .options],
            maxAge: .seconds(3600)))
        router.add(middleware: JSONErrorMiddleware(metrics: metrics))

        let insert = InsertRoute(
            log: log, maxBodyBytes: configuration.maxBodyBytes, maxJSONDepth: configuration.maxJSONDepth, metrics: metrics)
        let events = EventsRoute(log: log, hub: hub)
        let reads = ReadRoutes(log: log, hub: hub, metrics: metrics)
        router.post("/insert") { request, _ in try await insert.handle(request) }
        router.get("/events") { request, _ in try events.handle(request) }
        router.get("/audit/**") { request, context in
            try reads.audit(request, event: context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.get("/healthz") { _, _ in reads.health() }
        router.get("/metrics") { _, _ in reads.prometheus() }
        if configuration.console {
            let page = ByteBuffer(string: ConsolePage.html)
            router.get("/") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                         body: ResponseBody(byteBuffer: page))
            }
        }

        let idle = configuration.idleTimeout.components
        var app = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [SmallReceiveBuffers()],
                idleTimeout: .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "broker"),
            onServerRunning: onServerRunning,
            logger: configuration.logger)
        app.addServices(hub)
        return app
    }

    /// Opens the log, serves until SIGINT or SIGTERM, then closes the log: no new
    /// inserts, pending ones answered, subscribers closed, everything fsynced.
    public static func run(configuration: ServerConfiguration) async throws {
        let log = try EventLog.open(directory: configuration.dataDirectory, options: configuration.log)
        let app = makeApplication(log: log, configuration: configuration) { channel in
            configuration.logger.info("Broker listening on \(channel.localAddress?.description ?? "?"), data in \(configuration.dataDirectory)")
        }
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            await log.close()
            throw error
        }
        await log.close()
        configuration.logger.info("Broker stopped; last seq \(log.lastSeq)")
    }
}
