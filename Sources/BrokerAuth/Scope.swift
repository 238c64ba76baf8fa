/// One entry of a token's `publish` or `subscribe` list (SPEC.md 4.11): an exact event
/// name, or a prefix when it ends in `*` (`*` alone matches every name).
public struct ScopePattern: Sendable, Hashable, CustomStringConvertible {
    /// A pattern is at most an event name (256 bytes) and its `*`.
    public static let maxBytes = 257

    private enum Match: Hashable {
        case exact(String)
        case prefix(String)
    }

    private let match: Match

    /// Parses `text`; throws ``AuthError/invalidPattern(_:reason:)`` when it is empty,
    /// too long or holds a control character.
    public init(_ text: String) throws(AuthError) {
        if text.isEmpty { throw .invalidPattern(text, reason: "a pattern is empty") }
        if text.utf8.count > Self.maxBytes {
            throw .invalidPattern(text, reason: "a pattern is \(text.utf8.count) bytes, more than \(Self.maxBytes)")
        }
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .invalidPattern(text, reason: "a pattern contains a control character")
        }
        match = text.hasSuffix("*") ? .prefix(String(text.dropLast())) : .exact(text)
    }

    /// `*` alone: every name.
    public var matchesEverything: Bool { match == .prefix("") }

    public func matches(_ name: String) -> Bool {
        switch match {
        case .exact(let exact): name == exact
        case .prefix(let prefix): name.hasPrefix(prefix)
        }
    }

    public var description: String {
        switch match {
        case .exact(let exact): exact
        case .prefix(let prefix): prefix + "*"
        }
    }
}

/// A set of event names given as patterns: what a request may publish or read.
public struct Scope: Sendable, Hashable, CustomStringConvertible {
    public let patterns: [ScopePattern]

    public init(_ patterns: [ScopePattern]) {
        self.patterns = patterns
    }

    /// Parses each text as a ``ScopePattern``.
    public init(parsing texts: [String]) throws(AuthError) {
        var patterns: [ScopePattern] = []
        for text in texts { patterns.append(try ScopePattern(text)) }
        self.init(patterns)
    }

    public static let nothing = Scope([])
    public static let everything = Scope([try! ScopePattern("*")])

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether every name is inside (a `*` pattern).
    public var coversEverything: Bool { patterns.contains(where: \.matchesEverything) }

    public func allows(_ name: String) -> Bool {
        patterns.contains { $0.matches(name) }
    }

    /// The names either scope allows. Runs on every request with a token when names
    /// are public, so it only concatenates (a pattern in both is harmless).
    public func union(_ other: Scope) -> Scope {
        if other.isEmpty { return self }
        if isEmpty { return other }
        return Scope(patterns + other.patterns)
    }

    public var description: String { patterns.map(\.description).joined(separator: ", ") }
}
