import BrokerLog
import NIOCore

/// Server-Sent Events framing (SPEC.md 4.3). Event names have no control characters
/// and stored data is compact JSON, so every field fits on one line.
enum SSEMessage {
    /// `id: <seq>\nevent: <name>\ndata: <json>\n\n`
    static func append(_ record: Record, to buffer: inout ByteBuffer) {
        buffer.writeString("id: ")
        buffer.writeString(String(record.seq))
        buffer.writeString("\nevent: ")
        buffer.writeString(record.event)
        buffer.writeString("\ndata: ")
        buffer.writeBytes(record.data)
        buffer.writeString("\n\n")
    }

    static func encode(_ record: Record, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: record.data.count + record.event.utf8.count + 40)
        append(record, to: &buffer)
        return buffer
    }

    /// A comment line, ignored by clients: keeps idle connections open.
    static func comment(_ text: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(string: ": \(text)\n\n")
    }
}
