import BrokerJSON
import BrokerStore
import NIOCore

/// How records are framed on an SSE connection (SPEC.md 4.3).
enum SSEFormat: Sendable, Hashable {
    /// `event: <name>` and the data as is: EventSource listeners per name.
    case named
    /// No `event:` line (a default `message` event) and the data wrapped as
    /// `{"event":…,"timestamp":…,"data":…}`: one `onmessage` sees every name.
    case envelope
}

/// Server-Sent Events framing. Event names have no control characters and stored
/// data is compact JSON, so every field fits on one line.
enum SSEMessage {
    /// `id: <seq>\nevent: <name>\ndata: <json>\n\n`, or the envelope form.
    static func append(_ record: Record, format: SSEFormat, to buffer: inout ByteBuffer) {
        buffer.writeString("id: ")
        buffer.writeString(String(record.seq))
        switch format {
        case .named:
            buffer.writeString("\nevent: ")
            buffer.writeString(record.event)
            buffer.writeString("\ndata: ")
            buffer.writeBytes(record.data)
        case .envelope:
            buffer.writeString("\ndata: {\"event\":")
            var name: [UInt8] = []
            JSONWriter.appendQuoted(record.event, to: &name)
            buffer.writeBytes(name)
            buffer.writeString(",\"timestamp\":")
            buffer.writeString(String(record.timestamp))
            buffer.writeString(",\"data\":")
            buffer.writeBytes(record.data)
            buffer.writeString("}")
        }
        buffer.writeString("\n\n")
    }

    static func encode(_ record: Record, format: SSEFormat, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: record.data.count + 2 * record.event.utf8.count + 64)
        append(record, format: format, to: &buffer)
        return buffer
    }

    /// A comment line, ignored by clients: keeps idle connections open.
    static func comment(_ text: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(string: ": \(text)\n\n")
    }
}
