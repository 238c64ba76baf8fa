/// A NATS message's header block: `NATS/1.0[ status[ description]]`, then
/// `Name: value` lines, then an empty line (the protocol's HPUB/HMSG headers).
public struct NATSHeaders: Sendable, Equatable {
    /// The status of a message the server made (100 heartbeat or flow control,
    /// 404 not found, 408 bad request, 503 no responders), nil for a plain block.
    public var status: Int?
    public var statusDescription: String
    public private(set) var fields: [(name: String, value: String)]

    public init(status: Int? = nil, statusDescription: String = "", fields: [(name: String, value: String)] = []) {
        self.status = status
        self.statusDescription = statusDescription
        self.fields = fields
    }

    /// The first value of `name`, compared without case.
    public subscript(name: String) -> String? {
        let lowered = name.lowercased()
        return fields.first { $0.name.lowercased() == lowered }?.value
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    public static func == (lhs: NATSHeaders, rhs: NATSHeaders) -> Bool {
        lhs.status == rhs.status && lhs.statusDescription == rhs.statusDescription
            && lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The block as sent: names and values may not hold CR or LF (checked by the caller).
    public var encoded: [UInt8] {
        var text = "NATS/1.0"
        if let status { text += " \(status)" + (statusDescription.isEmpty ? "" : " " + statusDescription) }
        text += "\r\n"
        for field in fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Parses a header block; nil when it does not start with `NATS/1.0`.
    public static func parse(_ bytes: some Collection<UInt8>) -> NATSHeaders? {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)[...]
        guard let first = lines.popFirst(), first.hasPrefix("NATS/1.0") else { return nil }
        var headers = NATSHeaders()
        let statusLine = first.dropFirst("NATS/1.0".count).drop { $0 == " " }
        if !statusLine.isEmpty {
            let code = statusLine.prefix { $0 != " " }
            headers.status = Int(code)
            headers.statusDescription = String(statusLine.dropFirst(code.count).drop { $0 == " " })
        }
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSpaces
            let value = line[line.index(after: colon)...].trimmingSpaces
            headers.fields.append((String(name), String(value)))
        }
        return headers
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
