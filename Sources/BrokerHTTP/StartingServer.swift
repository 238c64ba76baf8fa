import BrokerJSON
public import BrokerStore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// What a server that is still opening its store is waiting for (SPEC.md 7.3): set
/// by the open, read by `/healthz`.
public final class StartupStatus: Sendable {
    private let reason = Locked("starting")

    public init() {}

    public func set(_ why: String) { reason.withLock { $0 = why } }

    public var current: String { reason.withLock { $0 } }
}

extension BrokerServer {
    /// Runs `open` while the configured address answers every request with 503 and
    /// the reason in `status` (`/healthz`: `{"status":"starting","error":…}`), so that
    /// a front started before its NATS cluster is up says why it does not serve yet
    /// instead of refusing connections. Returns what `open` made and the port that was
    /// listened on (the one the kernel gave for port 0, for the real server to take
    /// over); nil when SIGTERM or SIGINT came first (a store opened meanwhile is closed).
    public static func whileStarting<Store: EventStore>(
        configuration: ServerConfiguration, status: StartupStatus, _ open: @escaping @Sendable () async throws -> Store
    ) async throws -> (store: Store, port: Int)? {
        let port = Locked(configuration.port)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            startingResponse(request, reason: status.current)
        }
        let app = Application(
            responder: responder,
            server: try server(configuration, metrics: BrokerMetrics()),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "broker"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? configuration.port
                port.withLock { $0 = bound }
                configuration.logger.info(
                    "Broker starting on \(channel.localAddress?.description ?? "?"): answering 503 until the store is open")
            },
            logger: configuration.logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: configuration.logger)
        groupConfiguration.maximumGracefulShutdownDuration = gracefulShutdownLimit
        let group = ServiceGroup(configuration: groupConfiguration)
        // The open's outcome, or nil when a stop signal ended the listener first.
        let outcome = try await withThrowingTaskGroup(of: Result<Store, any Error>?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                let result: Result<Store, any Error>
                do { result = .success(try await open()) } catch { result = .failure(error) }
                // The listener stops gracefully whatever the outcome, before this returns.
                await group.triggerGracefulShutdown()
                return result
            }
            var outcome: Result<Store, any Error>?
            var signalled = false
            while let next = try await tasks.next() {
                if let next {
                    outcome = next
                } else if outcome == nil {
                    // A stop signal came first: the open is cancelled.
                    signalled = true
                    tasks.cancelAll()
                }
            }
            if signalled {
                if case .success(let store) = outcome { await store.close() }
                return Result<Store, any Error>?.none
            }
            return outcome
        }
        guard let outcome else { return nil }
        let opened = try outcome.get()
        return (opened, port.withLock { $0 })
    }

    /// 503 for everything while starting; `/healthz` says why in the health form.
    static func startingResponse(_ request: Request, reason: String) -> Response {
        let quoted = JSONWriter.quoted(reason)
        if request.uri.path == "/healthz" {
            return JSONResponse.make(
                .serviceUnavailable, Array(#"{"status":"starting","error":\#(quoted),"lastSeq":0}"#.utf8), headers: [.retryAfter: "1"])
        }
        return JSONResponse.error(.serviceUnavailable, "starting: " + reason, headers: [.retryAfter: "1"])
    }
}
