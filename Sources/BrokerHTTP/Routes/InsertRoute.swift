import BrokerAuth
import BrokerJSON
import BrokerStore
import Crypto
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /insert` (SPEC.md 4.2): one record, a JSON array of them or NDJSON lines,
/// validated, appended all or nothing under the fsync policy, and answered; with an
/// `Idempotency-Key`, a repeat is answered from the log instead of appended again.
struct InsertRoute: Sendable {
    let store: any EventStore
    let maxBodyBytes: Int
    let maxBatch: Int
    let maxJSONDepth: Int
    let metrics: BrokerMetrics
    let access: AccessPolicy

    /// What the body holds, which decides the answer's shape.
    enum Shape: UInt8 {
        case single = 0
        case array = 1
        case lines = 2
    }

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
        guard let mediaType = Self.mediaType(request.headers[.contentType]) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json or application/x-ndjson")
        }
        let keyText = request.headers[.idempotencyKey]
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw APIError(.contentTooLarge, "body of \(length) bytes exceeds the limit of \(maxBodyBytes) bytes")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body exceeds the limit of \(maxBodyBytes) bytes")
        }
        let (shape, entries, key) = try body.withUnsafeReadableBytes { bytes in
            let (shape, entries) = try parse(bytes, lines: mediaType == .lines)
            return (shape, entries, try keyText.map { text in try Self.key(text, shape: shape, body: bytes) })
        }
        for entry in entries { try access.requirePublish(entry.event, grant) }
        let result = try await append(entries, key: key, shape: shape)
        if !result.replayed { metrics.inserts.increment(by: Int64(result.records.count)) }
        var response = JSONResponse.ok(Self.answer(result.records, shape: shape))
        if result.replayed { response.headers[.idempotentReplayed] = "true" }
        return response
    }

    private func append(_ entries: [AppendEntry], key: IdempotencyKey?, shape: Shape) async throws(APIError) -> AppendResult {
        do throws(StoreError) {
            return try await store.append(entries, idempotencyKey: key)
        } catch {
            throw Self.apiError(error, shape: shape)
        }
    }

    /// The body's records, checked: 400 for anything invalid (naming the element or
    /// line), 413 for more than `--max-batch` records.
    private func parse(_ bytes: UnsafeRawBufferPointer, lines: Bool) throws(APIError) -> (Shape, [AppendEntry]) {
        do throws(BatchProblem) {
            let shape: Shape = lines ? .lines : InsertBody.isBatch(bytes) ? .array : .single
            let bodies: [InsertBody]
            switch shape {
            case .single:
                do throws(JSONError) { bodies = [try InsertBody.parse(bytes, maxDepth: maxJSONDepth)] } catch { throw .invalid(error) }
            case .array: bodies = try InsertBody.parseBatch(bytes, maxDepth: maxJSONDepth, maxCount: maxBatch)
            case .lines: bodies = try InsertBody.parseLines(bytes, maxDepth: maxJSONDepth, maxCount: maxBatch)
            }
            return (shape, bodies.map { AppendEntry(event: $0.event, data: $0.data, expectedSeq: $0.expectedSeq) })
        } catch {
            switch error {
            case .invalid(let why): throw APIError(.badRequest, "invalid insert body: \(why)")
            case .tooMany(let limit): throw APIError(.contentTooLarge, "a batch holds at most \(limit) records (--max-batch)")
            }
        }
    }

    /// The key with the digest of this request: its shape and body bytes (SPEC.md 4.2).
    static func key(_ text: String, shape: Shape, body: UnsafeRawBufferPointer) throws(APIError) -> IdempotencyKey {
        var hash = SHA256()
        hash.update(data: [shape.rawValue])
        hash.update(bufferPointer: body)
        let digest = hash.finalize().withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        guard let key = IdempotencyKey(text, requestDigest: UInt64(littleEndian: digest)) else {
            throw APIError(.badRequest, "Idempotency-Key must be 1 to \(IdempotencyKey.maxBytes) bytes of printable ASCII")
        }
        return key
    }

    /// The 200 body: the record, the array of records, or for NDJSON a summary.
    static func answer(_ records: [Record], shape: Shape) -> [UInt8] {
        var json: [UInt8] = []
        switch shape {
        case .single:
            json.reserveCapacity(records[0].data.count + records[0].event.utf8.count + 64)
            JSONWriter.appendRecord(records[0], to: &json)
        case .array:
            JSONWriter.appendRecords(records, to: &json)
        case .lines:
            var summary = JSONObjectWriter()
            summary.add("firstSeq", records[0].seq)
            summary.add("lastSeq", records[records.count - 1].seq)
            summary.add("count", records.count)
            summary.add("timestamp", records[0].timestamp)
            json = summary.json
        }
        return json
    }

    /// What an append failure is over HTTP: 409 for a seq conflict (listing every
    /// conflict for a batch), 422 for a key reused with another request, 503 otherwise.
    static func apiError(_ error: StoreError, shape: Shape) -> APIError {
        switch error {
        case .seqConflict(let conflicts):
            let reason = "expected seq does not match: " + error.description
            var body = JSONObjectWriter()
            body.add("error", reason)
            if shape == .single, let conflict = conflicts.first {
                body.add("event", conflict.event)
                body.add("expectedSeq", conflict.expectedSeq)
                body.add("currentSeq", conflict.currentSeq)
            } else {
                body.add(
                    "conflicts",
                    array: conflicts.map { conflict in
                        var entry = JSONObjectWriter()
                        entry.add("index", conflict.index)
                        entry.add("event", conflict.event)
                        entry.add("expectedSeq", conflict.expectedSeq)
                        entry.add("currentSeq", conflict.currentSeq)
                        return entry.json
                    })
            }
            return APIError(.conflict, reason, body: body.json)
        case .idempotencyKeyReused:
            return APIError(.unprocessableContent, "\(error)")
        case .idempotencyKeysFull(_, let retryAfterMs):
            return APIError(.serviceUnavailable, "\(error)", headers: [.retryAfter: String((retryAfterMs + 999) / 1000)])
        case .invalidEventName, .recordTooLarge, .unavailable:
            return APIError(.serviceUnavailable, "the log could not store the record: \(error)")
        }
    }

    /// The body's format from `Content-Type` (parameters such as `charset=utf-8`
    /// allowed), compared without allocating: this runs on every insert.
    static func mediaType(_ contentType: String?) -> MediaType? {
        guard var contentType else { return nil }
        return contentType.withUTF8 { bytes in
            var mediaType = bytes.prefix { $0 != UInt8(ascii: ";") }.drop { $0 == 0x20 || $0 == 0x09 }[...]
            while let last = mediaType.last, last == 0x20 || last == 0x09 { mediaType.removeLast() }
            func equals(_ expected: [UInt8]) -> Bool {
                mediaType.count == expected.count
                    && zip(mediaType, expected).allSatisfy { byte, wanted in (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == wanted }
            }
            return equals(json) ? .json : equals(ndjson) ? .lines : nil
        }
    }

    enum MediaType { case json, lines }

    private static let json = Array("application/json".utf8)
    private static let ndjson = Array("application/x-ndjson".utf8)
}
