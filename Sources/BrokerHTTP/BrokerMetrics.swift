import BrokerStore
import CoreMetrics
import Prometheus

/// The server's metrics, in a registry of its own (so that several servers can live in
/// one process, as in tests), rendered in Prometheus text format by `GET /metrics`.
final class BrokerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    let inserts: CoreMetrics.Counter
    let insertsRejected: CoreMetrics.Counter
    let subscribers: CoreMetrics.Gauge
    let subscribersDropped: CoreMetrics.Counter
    let sseMessages: CoreMetrics.Counter
    /// Streams ended because their token expired (SPEC.md 4.11).
    let subscribersExpired: CoreMetrics.Counter
    /// Event streams closed because their socket took nothing for the write timeout.
    let streamWriteTimeouts: CoreMetrics.Counter
    /// Requests refused for want of a valid token (401) or of scope (403).
    let unauthorized: CoreMetrics.Counter
    let forbidden: CoreMetrics.Counter
    private let bytesAppended: CoreMetrics.Counter
    private let fsyncs: CoreMetrics.Counter
    private let segments: CoreMetrics.Gauge
    private let eventNames: CoreMetrics.Gauge
    private let lastSeq: CoreMetrics.Gauge
    private let indexBytes: CoreMetrics.Gauge
    /// Log counters already reported, so that scrapes add only what is new.
    private let reported = Locked(StoreStatistics())

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        self.factory = factory
        inserts = .init(label: "broker_inserts_total", factory: factory)
        insertsRejected = .init(label: "broker_inserts_rejected_total", factory: factory)
        subscribers = .init(label: "broker_subscribers", factory: factory)
        subscribersDropped = .init(label: "broker_subscribers_dropped_total", factory: factory)
        sseMessages = .init(label: "broker_sse_messages_total", factory: factory)
        subscribersExpired = .init(label: "broker_subscribers_expired_total", factory: factory)
        streamWriteTimeouts = .init(label: "broker_stream_write_timeouts_total", factory: factory)
        unauthorized = .init(label: "broker_requests_unauthorized_total", factory: factory)
        forbidden = .init(label: "broker_requests_forbidden_total", factory: factory)
        bytesAppended = .init(label: "broker_bytes_appended_total", factory: factory)
        fsyncs = .init(label: "broker_fsyncs_total", factory: factory)
        segments = .init(label: "broker_segments", factory: factory)
        eventNames = .init(label: "broker_event_names", factory: factory)
        lastSeq = .init(label: "broker_last_seq", factory: factory)
        indexBytes = .init(label: "broker_index_bytes", factory: factory)
    }

    /// A latency timer for one route and status.
    func requestDuration(method: String, route: String, status: Int) -> CoreMetrics.Timer {
        .init(
            label: "broker_request_duration_seconds",
            dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory)
    }

    /// The Prometheus text, with the log's counters and the subscriber count brought
    /// up to date (read at scrape time, so the gauge is never stale).
    func render(from store: any EventStore, subscribers count: Int) -> [UInt8] {
        subscribers.record(count)
        let now = store.statistics
        let previous = reported.withLock { reported in
            defer { reported = now }
            return reported
        }
        if now.bytesAppended > previous.bytesAppended { bytesAppended.increment(by: Int64(now.bytesAppended - previous.bytesAppended)) }
        if now.fsyncs > previous.fsyncs { fsyncs.increment(by: Int64(now.fsyncs - previous.fsyncs)) }
        segments.record(now.segments)
        eventNames.record(now.eventNames)
        lastSeq.record(Int64(now.lastSeq))
        indexBytes.record(now.indexBytes)
        return registry.emitToBuffer()
    }
}
