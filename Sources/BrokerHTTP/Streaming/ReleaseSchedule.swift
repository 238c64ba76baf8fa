/// When the hub releases queued SSE messages to the connections (SPEC.md 4.3): the
/// first record after a quiet period at once; during a busy period on the
/// coalescing tick, and never sooner than a quarter tick after the record, so that
/// records arriving meanwhile share the release even when fanning out one record
/// takes longer than a tick. Pure: the hub gives it the time.
struct ReleaseSchedule<Instant: InstantProtocol> where Instant.Duration == Duration {
    enum Decision: Equatable {
        /// Release now.
        case now
        /// A release is due then: start a timer for it.
        case at(Instant)
        /// A release is already due: nothing to do.
        case pending
    }

    let tick: Duration
    let quietPeriod: Duration
    private(set) var lastRelease: Instant?
    private(set) var due: Instant?

    init(tick: Duration, quietPeriod: Duration) {
        self.tick = tick
        self.quietPeriod = quietPeriod
    }

    /// A message was queued at `now`.
    mutating func queued(at now: Instant) -> Decision {
        if due != nil { return .pending }
        guard let lastRelease, lastRelease.duration(to: now) < quietPeriod else { return .now }
        let next = max(lastRelease.advanced(by: tick), now.advanced(by: tick / 4))
        due = next
        return .at(next)
    }

    /// The queues were released at `now`.
    mutating func released(at now: Instant) {
        lastRelease = now
        due = nil
    }
}
