import BrokerAuth
import BrokerJSON
import BrokerStore
import Hummingbird
import NIOCore

/// `GET /audit/{event}`, `GET /healthz` and `GET /metrics` (SPEC.md 4.4 to 4.6).
struct ReadRoutes: Sendable {
    let store: any EventStore
    let hub: SubscriberHub
    let metrics: BrokerMetrics
    let access: AccessPolicy

    /// The event's history as a JSON array, oldest first, narrowed by the query.
    /// The scope is checked before the log is read, so a refusal tells nothing of it.
    func audit(_ request: Request, event rawName: String, grant: Grant) async throws -> Response {
        guard let event = rawName.removingPercentEncoding, !event.isEmpty else {
            throw APIError(.badRequest, "the event name is not valid percent-encoded UTF-8")
        }
        try access.requireSubscribe(event, grant)
        let since = try Self.integer(request, "since", Int64.self)
        let until = try Self.integer(request, "until", Int64.self)
        let after = try Self.integer(request, "after", UInt64.self)
        let limit = try Self.integer(request, "limit", Int.self)
        let records: [Record]?
        do {
            // On a front behind its stream, the records through `after` are waited for.
            if let after, after > store.lastSeq { _ = try await store.catchUp(to: after) }
            records = try await store.history(of: event, since: since, until: until, after: after, limit: limit)
        } catch {
            throw APIError(.serviceUnavailable, "reading the log failed: \(error)")
        }
        guard let records else { throw APIError(.notFound, "event \(JSONWriter.quoted(event)) was never inserted") }
        var json: [UInt8] = []
        JSONWriter.appendRecords(records, to: &json)
        return JSONResponse.ok(json)
    }

    /// `GET /state` (SPEC.md 4.5): the latest record of every selected name as of now,
    /// `?at=MS` or `?seq=N`, in seq order, with the seq it reflects in `X-Broker-Seq`.
    func state(_ request: Request, grant: Grant) async throws -> Response {
        let selector = try EventsRoute.selector(request, grant: grant, access: access)
        let at = try Self.integer(request, "at", Int64.self)
        let seq = try Self.integer(request, "seq", UInt64.self)
        if at != nil, seq != nil { throw APIError(.badRequest, "give at most one of at and seq") }
        let records: [Record]
        let bound: UInt64
        do {
            // A seq this front has not applied yet is waited for; past the log's end, the latest state answers.
            if let seq, seq > store.lastSeq { _ = try await store.catchUp(to: seq) }
            let last = store.lastSeq
            if let at { bound = try await store.lastSeq(atOrBefore: at) } else { bound = min(seq ?? last, last) }
            records = try await selector.latest(in: store, upTo: bound)
        } catch {
            throw APIError(.serviceUnavailable, "reading the log failed: \(error)")
        }
        var json: [UInt8] = []
        JSONWriter.appendRecords(records, to: &json)
        return JSONResponse.make(.ok, json, headers: [.brokerSeq: String(bound)])
    }

    /// 200 while the store accepts appends; 503 with the reason while it does not.
    /// For a JetStream front, its NATS connection and stream follow (`nats`).
    func health() -> Response {
        let health = store.health
        var body = JSONObjectWriter()
        body.add("status", health.failure == nil ? "ok" : "failed")
        if let failure = health.failure { body.add("error", failure) }
        body.add("lastSeq", store.lastSeq)
        if let replication = health.replication {
            var nats = JSONObjectWriter()
            nats.add("connected", replication.connected)
            nats.add("server", replication.server)
            nats.add("stream", replication.stream)
            nats.add("streamLeader", replication.streamLeader)
            nats.add("replicas", replication.replicas)
            nats.add("currentReplicas", replication.currentReplicas)
            nats.add("indexedSeq", replication.indexedSeq)
            body.add("nats", json: nats.json)
        }
        return JSONResponse.make(health.failure == nil ? .ok : .serviceUnavailable, body.json)
    }

    func prometheus(grant: Grant) throws(APIError) -> Response {
        try access.requireAdmin(grant)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render(from: store, subscribers: hub.subscriberCount))))
    }

    /// A non-negative integer query parameter, or nil when absent.
    static func integer<T: FixedWidthInteger>(_ request: Request, _ name: String, _: T.Type) throws -> T? {
        guard let text = request.uri.queryParameters[name[...]] else { return nil }
        guard let value = T(text), value >= 0 else {
            throw APIError(.badRequest, "query parameter \(name) must be a non-negative integer, not \(JSONWriter.quoted(String(text)))")
        }
        return value
    }
}

extension String {
    /// Percent-decoding of a URL path segment; nil when the result is not UTF-8.
    var removingPercentEncoding: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(Hex.value(ofDigit:)), let low = iterator.next().flatMap(Hex.value(ofDigit:)) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
