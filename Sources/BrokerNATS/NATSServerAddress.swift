/// One server of a `nats://[user:password@|token@]host[:port]` list. Credentials go
/// into CONNECT and never into a description (logs show host and port only).
public struct NATSServerAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    let user: String?
    let password: String?
    let token: String?

    public static let defaultPort = 4222

    /// Parses one URL; nil with the reason when it is not a `nats://` URL this client can use.
    public static func parse(_ text: String) -> Result<NATSServerAddress, NATSError> {
        var rest = Substring(text.trimmingWhitespace)
        if rest.hasPrefix("nats://") {
            rest = rest.dropFirst("nats://".count)
        } else if rest.contains("://") {
            return .failure(.invalidArgument("only nats:// URLs are supported (TLS to NATS is not): \(Self.withoutCredentials(text))"))
        }
        if rest.last == "/" { rest = rest.dropLast() }
        var user: String?
        var password: String?
        var token: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                token = String(credentials)
            }
        }
        var host = String(rest)
        var port = defaultPort
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                return .failure(.invalidArgument("bad port in NATS URL \(Self.withoutCredentials(text))"))
            }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return .failure(.invalidArgument("no host in NATS URL \(Self.withoutCredentials(text))")) }
        return .success(NATSServerAddress(host: host, port: port, user: user, password: password, token: token))
    }

    /// A comma-separated list, as `--nats` takes it.
    public static func parseList(_ text: String) -> Result<[NATSServerAddress], NATSError> {
        var addresses: [NATSServerAddress] = []
        for part in text.split(separator: ",") where !part.trimmingWhitespace.isEmpty {
            switch parse(String(part)) {
            case .success(let address): addresses.append(address)
            case .failure(let error): return .failure(error)
            }
        }
        return addresses.isEmpty ? .failure(.invalidArgument("no NATS URL given")) : .success(addresses)
    }

    public var description: String { "nats://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    private static func withoutCredentials(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let scheme = text.range(of: "://").map { String(text[..<$0.upperBound]) } ?? ""
        return scheme + "…@" + text[text.index(after: at)...]
    }
}

extension StringProtocol {
    var trimmingWhitespace: Substring {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}
