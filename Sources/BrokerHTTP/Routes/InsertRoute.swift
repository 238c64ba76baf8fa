import BrokerAuth
import BrokerJSON
import BrokerLog
import Hummingbird
import NIOCore

/// `POST /insert` (SPEC.md 4.2): validate, append under the fsync policy, answer.
struct InsertRoute: Sendable {
    let log: EventLog
    let maxBodyBytes: Int
    let maxJSONDepth: Int
    let metrics: BrokerMetrics
    let access: AccessPolicy

    func handle(_ request: Request, grant: Grant) async throws -> Response {
        do {
            try access.requireAnyPublish(grant)
            return try await insert(request, grant: grant)
        } catch let error as APIError {
            metrics.insertsRejected.increment()
            throw error
        }
    }

    private func insert(_ request: Request, grant: Grant) async throws -> Response {
        guard Self.isJSON(request.headers[.contentType]) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw APIError(.contentTooLarge, "body of \(length) bytes exceeds the limit of \(maxBodyBytes) bytes")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body exceeds the limit of \(maxBodyBytes) bytes")
        }
        let parsed: InsertBody
        do {
            parsed = try body.withUnsafeReadableBytes { bytes in
                try InsertBody.parse(bytes, maxDepth: maxJSONDepth)
            }
        } catch {
            throw APIError(.badRequest, "invalid insert body: \(error)")
        }
        try access.requirePublish(parsed.event, grant)
        let record: Record
        do {
            record = try await log.append(event: parsed.event, data: parsed.data)
        } catch {
            throw APIError(.serviceUnavailable, "the log could not store the record: \(error)")
        }
        metrics.inserts.increment()
        var json: [UInt8] = []
        json.reserveCapacity(record.data.count + record.event.utf8.count + 64)
        JSONWriter.appendRecord(record, to: &json)
        return JSONResponse.ok(json)
    }

    /// `application/json`, with or without parameters such as `charset=utf-8`
    /// (compared without allocating: this runs on every insert).
    static func isJSON(_ contentType: String?) -> Bool {
        guard var contentType else { return false }
        return contentType.withUTF8 { bytes in
            var mediaType = bytes.prefix { $0 != UInt8(ascii: ";") }.drop { $0 == 0x20 || $0 == 0x09 }[...]
            while let last = mediaType.last, last == 0x20 || last == 0x09 { mediaType.removeLast() }
            return mediaType.count == expected.count
                && zip(mediaType, expected).allSatisfy { byte, wanted in
                    (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == wanted
                }
        }
    }

    private static let expected = Array("application/json".utf8)
}
