import BrokerAuth
import BrokerStore

/// Which records one reader gets: the names of its `?event=` filter and the prefixes
/// of its `?prefix=` filter (a record matching either), and only names its grant may
/// read (SPEC.md 4.3, 4.11).
struct EventSelector: Sendable {
    /// The filter's names, or nil when it names none.
    let names: Set<String>?
    /// The filter's prefixes.
    let prefixes: [String]
    /// The names the reader may read, or nil when every name the filter admits is readable.
    let scope: Scope?

    /// `names` are already checked against the grant; `readable` limits the rest
    /// (a prefix may reach past the grant, so prefixed names are checked one by one).
    init(names: Set<String>?, prefixes: [String] = [], readable: Scope) {
        self.names = names
        self.prefixes = prefixes
        self.scope = (names != nil && prefixes.isEmpty) || readable.coversEverything ? nil : readable
    }

    static let everything = EventSelector(names: nil, readable: .everything)

    private var isFiltered: Bool { names != nil || !prefixes.isEmpty }

    func admits(_ name: String) -> Bool {
        if isFiltered {
            if names?.contains(name) == true { return true }
            guard prefixes.contains(where: { name.hasPrefix($0) }) else { return false }
        }
        return scope?.allows(name) ?? true
    }

    /// The latest record of every admitted name as of `seq`, in seq order: looked up
    /// name by name for a filter of names only, else by one pass over the index.
    func latest(in store: any EventStore, upTo seq: UInt64) async throws(StoreError) -> [Record] {
        if let names, prefixes.isEmpty {
            var records: [Record] = []
            for name in names { if let record = try await store.latest(of: name, upTo: seq) { records.append(record) } }
            return records.sorted { $0.seq < $1.seq }
        }
        if !isFiltered, scope == nil { return try await store.latest(upTo: seq) { _ in true } }
        return try await store.latest(upTo: seq, where: admits)
    }
}
