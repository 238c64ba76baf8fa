/// Something a walk of the log found wrong: where it is and what it is. Every part of
/// Broker reports damage with this one type and this one wording; what it means is
/// for each caller's `DamagePolicy` to decide.
public struct Damage: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Bytes that cannot be what the format says is there.
        case corrupt
        /// The end of the newest segment, from a frame (or a header) that is not whole to
        /// the end of the file, with no valid frame after it: a write in progress to a
        /// reader, a torn write to recovery (SPEC.md 3.4). `bytes` run to the end of the file.
        case incompleteTail(bytes: Int)
    }

    /// The file's path.
    public let segment: String
    /// The byte offset of the bad header or frame.
    public let offset: Int
    public let problem: FrameProblem
    public let kind: Kind

    public init(segment: String, offset: Int, problem: FrameProblem, kind: Kind = .corrupt) {
        self.segment = segment
        self.offset = offset
        self.problem = problem
        self.kind = kind
    }

    public var description: String { "\(segment): byte offset \(offset): \(problem)" }
}

/// What a walk does after damage.
package enum DamageAction {
    /// Go on past it where the format allows: past a frame whose length field is
    /// plausible, else with the next segment.
    case skip
    /// End the walk here.
    case stop
}

/// Decides what damage means, like LevelDB's `log::Reader::Reporter`: recovery cuts a
/// torn tail and refuses the rest, the scrub fails the log, reads fail, the audit
/// gives up comparing, the tools print and go on. Throwing ends the walk with that error.
package protocol DamagePolicy {
    mutating func handle(_ damage: Damage) throws(LogError) -> DamageAction
}

/// Goes on past every damage, keeping nothing: for a walk that only counts or
/// exercises what is readable (`dump`'s record counts, the fuzz checks).
package struct SkipDamage: DamagePolicy {
    package init() {}

    package func handle(_ damage: Damage) -> DamageAction { .skip }
}

/// The policy of reads and of the scrub: any damage fails with it.
package struct FailOnDamage: DamagePolicy {
    package init() {}

    package func handle(_ damage: Damage) throws(LogError) -> DamageAction {
        throw LogError(damage)
    }
}
