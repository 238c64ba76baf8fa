import Foundation

/// The JetStream API calls Broker makes, as requests on `$JS.API.…` subjects, and
/// publishing with the stream's acknowledgement.
public struct JetStream: Sendable {
    public let client: NATSClient
    /// How long an API call or a publish waits for its answer.
    public var timeout: Duration

    public init(client: NATSClient, timeout: Duration = .seconds(5)) {
        self.client = client
        self.timeout = timeout
    }

    /// The stream's answer to a publish.
    public struct PublishAck: Sendable, Decodable, Equatable {
        public let stream: String
        public let seq: UInt64
        /// True when the `Nats-Msg-Id` was seen within the duplicate window: nothing
        /// was stored and `seq` is the first message's.
        public let duplicate: Bool?

        public init(stream: String, seq: UInt64, duplicate: Bool? = nil) {
            self.stream = stream
            self.seq = seq
            self.duplicate = duplicate
        }
    }

    /// A message as the stream stores it.
    public struct StoredMessage: Sendable {
        public let subject: String
        public let seq: UInt64
        /// When the stream stored it, in nanoseconds since 1970 (the leader's clock).
        public let timeNanoseconds: Int64
        public let headers: NATSHeaders?
        public let payload: [UInt8]
    }

    /// Publishes and waits for the stream's acknowledgement. A rejection (such as a
    /// failed `Nats-Expected-Last-Subject-Sequence`) is ``NATSError/jetStream(code:errorCode:description:)``.
    public func publish(_ subject: String, headers: NATSHeaders? = nil, payload: [UInt8]) async throws(NATSError) -> PublishAck {
        let answer = try await client.request(subject, headers: headers, payload: payload, timeout: timeout)
        if let ack = PublishAckReader.read(answer.payload) { return ack }
        return try Self.decode(PublishAck.self, from: answer.payload)
    }

    /// The stream's configuration and state, or nil when there is no such stream.
    public func streamInfo(_ name: String) async throws(NATSError) -> StreamInfo? {
        do {
            return try await call("$JS.API.STREAM.INFO.\(name)", Empty(), as: StreamInfo.self)
        } catch {
            if case .jetStream(404, _, _) = error { return nil }
            throw error
        }
    }

    public func createStream(_ configuration: StreamConfiguration) async throws(NATSError) -> StreamInfo {
        try await call("$JS.API.STREAM.CREATE.\(configuration.name)", configuration, as: StreamInfo.self)
    }

    /// Creates an ephemeral consumer and returns its name.
    public func createConsumer(stream: String, _ configuration: ConsumerConfiguration) async throws(NATSError) -> String {
        struct Request: Encodable {
            let streamName: String
            let config: ConsumerConfiguration
        }
        struct Created: Decodable { let name: String }
        return try await call("$JS.API.CONSUMER.CREATE.\(stream)", Request(streamName: stream, config: configuration), as: Created.self).name
    }

    public func deleteConsumer(stream: String, name: String) async throws(NATSError) {
        struct Deleted: Decodable { let success: Bool? }
        _ = try await call("$JS.API.CONSUMER.DELETE.\(stream).\(name)", Empty(), as: Deleted.self)
    }

    /// The message at `seq`, read by any replica (the stream allows direct gets), or
    /// nil when that replica has no such message (yet).
    public func directGet(stream: String, seq: UInt64) async throws(NATSError) -> StoredMessage? {
        let answer = try await client.request("$JS.API.DIRECT.GET.\(stream)", payload: Array(#"{"seq":\#(seq)}"#.utf8), timeout: timeout)
        guard let headers = answer.headers else { throw .protocolViolation("a direct get answered without headers") }
        if let status = headers.status {
            if status == 404 { return nil }
            throw .jetStream(code: status, errorCode: 0, description: headers.statusDescription)
        }
        guard let subject = headers["Nats-Subject"], let stored = headers["Nats-Sequence"].flatMap(UInt64.init),
            let time = headers["Nats-Time-Stamp"].flatMap(RFC3339.nanoseconds)
        else { throw .protocolViolation("a direct get answered without Nats-Subject, Nats-Sequence or Nats-Time-Stamp") }
        return StoredMessage(subject: subject, seq: stored, timeNanoseconds: time, headers: headers, payload: answer.payload)
    }

    // MARK: The API's JSON

    private struct Empty: Encodable {}

    private struct APIError: Decodable {
        struct Body: Decodable {
            let code: Int
            let errCode: Int?
            let description: String?
        }
        let error: Body?
    }

    private func call<Body: Encodable, Answer: Decodable>(_ subject: String, _ body: Body, as: Answer.Type) async throws(NATSError) -> Answer {
        let payload: [UInt8]
        do { payload = Array(try Self.encoder.encode(body)) } catch { throw .invalidArgument("could not encode a JetStream request: \(error)") }
        let answer = try await client.request(subject, payload: payload, timeout: timeout)
        return try Self.decode(Answer.self, from: answer.payload)
    }

    /// The API's JSON is snake_case; these types' properties are camelCase.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// An API answer: its `error` when it has one, else the value.
    static func decode<Answer: Decodable>(_: Answer.Type, from payload: [UInt8]) throws(NATSError) -> Answer {
        let data = Data(payload)
        let decoder = Self.decoder
        if let failure = try? decoder.decode(APIError.self, from: data), let error = failure.error {
            throw .jetStream(code: error.code, errorCode: error.errCode ?? 0, description: error.description ?? "")
        }
        do {
            return try decoder.decode(Answer.self, from: data)
        } catch {
            throw .protocolViolation("unreadable JetStream answer: \(String(decoding: payload.prefix(200), as: UTF8.self))")
        }
    }
}

/// The parts of a stream's configuration Broker sets and checks (JetStream's
/// `StreamConfig`, snake_case as on the wire).
public struct StreamConfiguration: Codable, Sendable, Equatable {
    public var name: String
    public var subjects: [String]
    public var retention: String = "limits"
    public var storage: String = "file"
    public var numReplicas: Int
    public var maxMsgs: Int64 = -1
    public var maxBytes: Int64 = -1
    public var maxAge: Int64 = 0
    public var maxMsgsPerSubject: Int64 = -1
    public var maxMsgSize: Int32? = -1
    public var discard: String = "old"
    public var duplicateWindow: Int64?
    public var denyDelete: Bool? = true
    public var denyPurge: Bool? = true
    public var allowDirect: Bool? = true
    public var allowRollupHdrs: Bool? = false

    public init(name: String, subjects: [String], replicas: Int, duplicateWindow: Duration) {
        self.name = name
        self.subjects = subjects
        self.numReplicas = replicas
        self.duplicateWindow = Int64(duplicateWindow.components.seconds) * 1_000_000_000
    }
}

public struct StreamInfo: Decodable, Sendable {
    public struct State: Decodable, Sendable {
        public let messages: UInt64
        public let bytes: UInt64
        public let firstSeq: UInt64
        public let lastSeq: UInt64
    }
    public struct Cluster: Decodable, Sendable {
        public struct Peer: Decodable, Sendable {
            public let name: String
            public let current: Bool
            public let offline: Bool?
        }
        public let name: String?
        public let leader: String?
        public let replicas: [Peer]?
    }
    public let config: StreamConfiguration
    public let state: State
    public let cluster: Cluster?
}

/// An ephemeral push consumer's configuration (what an ordered consumer uses).
public struct ConsumerConfiguration: Encodable, Sendable {
    public var deliverSubject: String
    public var deliverPolicy: String
    public var optStartSeq: UInt64?
    public var filterSubject: String?
    public var ackPolicy = "none"
    public var maxDeliver = 1
    public var replayPolicy = "instant"
    public var flowControl = true
    /// Nanoseconds.
    public var idleHeartbeat: Int64
    /// Nanoseconds: the server removes the consumer this long after its subscriber went away.
    public var inactiveThreshold: Int64
    public var memStorage = true
    public var numReplicas = 1

    public init(deliverSubject: String, startSeq: UInt64, filterSubject: String?, heartbeat: Duration) {
        self.deliverSubject = deliverSubject
        deliverPolicy = startSeq <= 1 ? "all" : "by_start_sequence"
        optStartSeq = startSeq <= 1 ? nil : startSeq
        self.filterSubject = filterSubject
        idleHeartbeat = Int64(heartbeat / .nanoseconds(1))
        inactiveThreshold = Int64((heartbeat * 10) / .nanoseconds(1))
    }
}

/// `2026-12-02T18:40:02.123456789Z`, as JetStream writes times (always UTC).
enum RFC3339 {
    static func nanoseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var fraction: Int64 = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: ".") else { return nil }
            let digits = bytes[20..<(bytes.count - 1)]
            guard !digits.isEmpty, digits.count <= 9, let value = number(20..<(bytes.count - 1)) else { return nil }
            fraction = value * Int64(pow(10, Double(9 - digits.count)))
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000_000_000 + second * 1_000_000_000 + fraction
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
