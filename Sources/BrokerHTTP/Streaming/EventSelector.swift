import BrokerAuth

/// Which records one subscriber gets: the names of its `?event=` filter, and only
/// those its grant may read (SPEC.md 4.3, 4.11).
struct EventSelector: Sendable {
    /// The filter's names, or nil for every name.
    let names: Set<String>?
    /// The names the subscriber may read, or nil when it may read every name.
    let scope: Scope?

    /// `names` are already checked against the grant; `readable` limits the rest.
    init(names: Set<String>?, readable: Scope) {
        self.names = names
        self.scope = names != nil || readable.coversEverything ? nil : readable
    }

    static let everything = EventSelector(names: nil, readable: .everything)

    func admits(_ name: String) -> Bool {
        if let names { return names.contains(name) }
        return scope?.allows(name) ?? true
    }
}
