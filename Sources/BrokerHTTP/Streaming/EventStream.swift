import BrokerStore
import Hummingbird
import NIOCore
import ServiceLifecycle

/// One `GET /events` connection (SPEC.md 4.3): the snapshot or the resumed backlog
/// from the log, then live records from the hub, handed over at a seq so that
/// nothing is missed or repeated.
struct EventStream: Sendable {
    /// Where the subscriber starts.
    enum Start: Sendable, Equatable {
        /// The latest record of every (selected) name, then live.
        case snapshot
        /// Every record after this seq, then live.
        case resume(after: UInt64)
    }

    let store: any EventStore
    let hub: SubscriberHub
    /// The connection: live messages are written to it directly, after the backlog.
    let output: any StreamOutput
    /// The names this subscriber gets.
    let selector: EventSelector
    let format: SSEFormat
    let start: Start
    /// When the stream's token stops being valid, if it has one.
    let deadline: NIODeadline?

    private static let chunkBytes = 64 << 10
    /// Records read from the store at a time while catching up.
    private static let pageRecords = 512
    /// Rounds of reading the log before joining the hub while it keeps moving.
    private static let catchUpRounds = 8

    /// Thrown between chunks of a backlog when the stream's token has expired: the
    /// hub ends registered streams, this ends one still reading the log.
    private struct TokenExpired: Error {}

    func write(to writer: inout any ResponseBodyWriter) async throws {
        do {
            try await writeStream(to: &writer)
        } catch is TokenExpired {
            try await writer.write(SSEMessage.comment("token expired", allocator: ByteBufferAllocator()))
        }
    }

    private func writeStream(to writer: inout any ResponseBodyWriter) async throws {
        let allocator = ByteBufferAllocator()
        switch start {
        case .snapshot:
            // Join first: the snapshot is taken at the hub's seq, live records follow it.
            let registration = hub.register(selector, format: format, deadline: deadline)!
            try await stream(registration, to: &writer) { (writer) async throws in
                try await writeSnapshot(upTo: registration.startSeq, to: &writer, allocator: allocator)
            }
        case .resume(let after):
            // Catch up from the log without queueing live records; join when caught up.
            var next = after + 1
            var joined: SubscriberHub.Registration?
            for _ in 0..<Self.catchUpRounds {
                let target = hub.lastSeq
                next = try await writeRecords(from: next, through: target, to: &writer, allocator: allocator)
                if let registration = hub.register(selector, format: format, deadline: deadline, ifAt: target, after: after) {
                    joined = registration
                    break
                }
            }
            let registration = joined ?? hub.register(selector, format: format, deadline: deadline, after: after)!
            try await stream(registration, to: &writer) { [next] (writer) async throws in
                _ = try await writeRecords(from: next, through: registration.startSeq, to: &writer, allocator: allocator)
            }
        }
    }

    /// Writes the backlog, then hands the connection to the queue for live messages
    /// until the hub ends the queue, the client goes away or the server shuts down. The
    /// registration is released whatever happens, the moment this returns or throws.
    private func stream(
        _ registration: SubscriberHub.Registration, to writer: inout any ResponseBodyWriter,
        backlog: (inout any ResponseBodyWriter) async throws -> Void
    ) async throws {
        let id = registration.id
        let hub = self.hub
        defer { hub.unregister(id) }
        try await backlog(&writer)
        // The backlog's writes were handed to the connection's event loop before the
        // queue's first write is, so they reach the socket first.
        let output = self.output
        let writer = hub.loopWriters.writer(for: output.eventLoop)
        await withGracefulShutdownHandler {
            await registration.messages.stream(to: output, through: writer)
        } onGracefulShutdown: {
            hub.unregister(id)
        }
    }

    private func writeSnapshot(upTo seq: UInt64, to writer: inout any ResponseBodyWriter, allocator: ByteBufferAllocator) async throws {
        let records = try await selector.latest(in: store, upTo: seq)
        try await writeChunked(records, to: &writer, allocator: allocator)
    }

    /// Writes the records from `first` through `last` that this subscriber wants, and
    /// returns the seq to continue from.
    private func writeRecords(from first: UInt64, through last: UInt64, to writer: inout any ResponseBodyWriter, allocator: ByteBufferAllocator)
        async throws -> UInt64
    {
        var next = first
        while next <= last {
            let page = try await store.records(from: next, through: last, limit: Self.pageRecords)
            // The hub never runs ahead of the store, so pages reach `last`.
            guard let end = page.last?.seq else { break }
            try await writeChunked(page.lazy.filter { selector.admits($0.event) }, to: &writer, allocator: allocator)
            next = end + 1
        }
        // Never back past `first`: a resume point ahead of the hub (a front that has
        // just caught up to it) is not read again.
        return max(first, last + 1)
    }

    /// Writes records as SSE messages, gathered into chunks of about ``chunkBytes``.
    private func writeChunked(
        _ records: some Sequence<Record>, to writer: inout any ResponseBodyWriter, allocator: ByteBufferAllocator
    ) async throws {
        var buffer = allocator.buffer(capacity: 1024)
        for record in records {
            SSEMessage.append(record, format: format, to: &buffer)
            if buffer.readableBytes >= Self.chunkBytes {
                try await writer.write(buffer)
                buffer.clear()
                if let deadline, hub.now >= deadline { throw TokenExpired() }
            }
        }
        if buffer.readableBytes > 0 { try await writer.write(buffer) }
    }
}
