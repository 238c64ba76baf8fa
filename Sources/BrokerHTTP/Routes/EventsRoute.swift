import BrokerAuth
import BrokerJSON
import BrokerStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /events` (SPEC.md 4.3): checks the request and starts an ``EventStream``.
struct EventsRoute: Sendable {
    let store: any EventStore
    let hub: SubscriberHub
    let access: AccessPolicy

    func handle(_ request: Request, channel: any Channel, grant: Grant) async throws(APIError) -> Response {
        let selector = try Self.selector(request, grant: grant, access: access)
        let query = request.uri.queryParameters
        let resumeText = request.headers[.lastEventID] ?? query["lastEventId"].map(String.init)
        var start = EventStream.Start.snapshot
        var notice: String?
        if let resumeText {
            guard let after = UInt64(resumeText.filter { $0 != " " }) else {
                throw APIError(.badRequest, "Last-Event-ID must be a seq (a non-negative integer), not \(JSONWriter.quoted(resumeText))")
            }
            let known: Bool
            do {
                // A front behind its stream waits until it has the resume point.
                known = try await store.catchUp(to: after)
            } catch {
                throw APIError(.serviceUnavailable, "cannot resume after \(after) yet: \(error)", headers: [.retryAfter: "1"])
            }
            if known {
                start = .resume(after: after)
            } else {
                // The client saw seqs this log does not have (another or a restored data
                // directory): its state cannot be trusted, so it gets the snapshot.
                notice = "resume point \(after) is past the last seq \(store.lastSeq); sending the snapshot"
            }
        }
        let greeting = notice
        let format: SSEFormat
        switch query["envelope"] {
        case nil, "0", "false": format = .named
        case "1", "true": format = .envelope
        case let other?: throw APIError(.badRequest, "envelope must be 1 or 0, not \(JSONWriter.quoted(String(other)))")
        }
        let stream = EventStream(
            store: store, hub: hub, output: ChannelOutput(channel: channel), selector: selector,
            format: format, start: start, deadline: grant.validUntil.map(hub.deadline(at:)))
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                if let greeting { try await writer.write(SSEMessage.comment(greeting, allocator: ByteBufferAllocator())) }
                try await stream.write(to: &writer)
                try await writer.finish(nil)
            })
    }
}

extension EventsRoute {
    /// The reader's selector from `?event=` and `?prefix=` (SPEC.md 4.3): 400 for an
    /// invalid name or prefix, 401/403 for a grant with no subscribe scope or a named
    /// event outside it. A prefix is not refused: names under it outside the scope are
    /// left out.
    static func selector(_ request: Request, grant: Grant, access: AccessPolicy) throws(APIError) -> EventSelector {
        try access.requireAnySubscribe(grant)
        let query = request.uri.queryParameters
        let names = query.getAll("event")
        for name in names {
            if let why = EventName.problem(with: name) { throw APIError(.badRequest, "bad event filter: \(why)") }
            try access.requireSubscribe(name, grant)
        }
        let prefixes = query.getAll("prefix")
        for prefix in prefixes {
            if let why = EventName.problem(with: prefix) { throw APIError(.badRequest, "bad prefix filter: \(why)") }
        }
        return EventSelector(names: names.isEmpty ? nil : Set(names), prefixes: prefixes, readable: grant.subscribe)
    }

}
