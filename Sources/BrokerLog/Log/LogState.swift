import BrokerStore

/// Everything the open log changes, guarded by one lock in ``EventLog``.
struct LogState {
    var segments: [Segment]
    var latest: LatestIndex
    /// The idempotency keys of the window (SPEC.md 3.6).
    var keys: IdempotencyTable
    /// The last seq written to a segment.
    var lastSeq: UInt64
    /// The last seq covered by an fsync.
    var syncedSeq: UInt64
    /// The last seq readers and subscribers may see (SPEC.md 3.3).
    var visibleSeq: UInt64
    var lastTimestamp: Int64
    /// Held while the log is open; dropping it releases the writer lock.
    var lock: FileHandle?

    /// Reused for encoding, so appends allocate nothing in the steady state.
    var writeBuffer: [UInt8] = []
    var scratch: [UInt8] = []

    /// Written under `always`, waiting for an fsync before they become visible.
    var unsynced: [Record] = []
    var syncWaiters: [(seq: UInt64, continuation: CheckedContinuation<Result<Void, LogError>, Never>)] = []
    var syncInFlight = false
    /// Set when an fsync fails: nothing more can be acknowledged until reopen.
    var failure: LogError?
    var isClosed = false

    /// Fed under this state's lock, so that subscribers get records in seq order.
    let feed = LiveFeed()
    var statistics = StoreStatistics()

    var active: Segment { segments[segments.count - 1] }

    /// A checkpoint covering `segments` whole, with the index as it is now: take it
    /// only when the index describes exactly those segments' records.
    func checkpoint(of segments: ArraySlice<Segment>, lastTimestamp: Int64) -> Checkpoint {
        Checkpoint(lastTimestamp: lastTimestamp, segments: segments.map(\.checkpointEntry), latest: latest, keys: keys)
    }

    func checkWritable() throws(LogError) {
        if isClosed { throw .closed(reason: "closed") }
        if let failure { throw failure }
    }

    /// Whether the active segment must be sealed before a frame of `frameSize` bytes
    /// joins the `bufferedBytes` of frames waiting to be written to it. Only a segment
    /// that holds (or is about to hold) a record is sealed, so a record too large for
    /// any segment gets an empty one to itself.
    func needsRotation(bufferedBytes: Int, frameSize: Int, segmentBytes: Int) -> Bool {
        let holdsRecords = !active.isEmpty || bufferedBytes > 0
        return holdsRecords && active.size + bufferedBytes + frameSize > segmentBytes
    }

    /// Publishes records to subscribers and makes them readable.
    mutating func makeVisible(_ records: ArraySlice<Record>) {
        feed.publish(records)
        if let last = records.last { visibleSeq = last.seq }
    }

    /// Makes the records that wait for an fsync visible once one has covered them.
    mutating func publishSynced() {
        let ready = unsynced.prefix { $0.seq <= syncedSeq }
        guard !ready.isEmpty else { return }
        makeVisible(ready)
        unsynced.removeFirst(ready.count)
    }

    /// Applies the outcome of an fsync that covered writes up to `target`, and returns
    /// the appenders to wake with their result.
    mutating func finishSync(upTo target: UInt64, failure: LogError?) -> (
        waiters: [CheckedContinuation<Result<Void, LogError>, Never>], result: Result<Void, LogError>
    ) {
        statistics.fsyncs += 1
        if let failure {
            let error = LogError.closed(reason: "fsync failed: \(failure)")
            self.failure = error
            let all = syncWaiters.map(\.continuation)
            syncWaiters.removeAll()
            return (all, .failure(error))
        }
        syncedSeq = max(syncedSeq, target)
        publishSynced()
        var woken: [CheckedContinuation<Result<Void, LogError>, Never>] = []
        syncWaiters.removeAll { waiter in
            guard waiter.seq <= syncedSeq else { return false }
            woken.append(waiter.continuation)
            return true
        }
        return (woken, .success(()))
    }
}
