import BrokerStore

/// What one front holds of the stream, in memory (SPEC.md 7.3): for every name its
/// latest record and the seqs of all its versions, the timestamp of every seq, and
/// the most recent records themselves (so that resumes after a failover are served
/// without asking the stream). Built from seq 1 at start and kept current by the
/// front's one ordered consumer; everything else is read from the stream by seq.
struct FrontIndex {
    struct Versions {
        var latest: Record
        /// Every seq of the name, ascending (the latest's last).
        var seqs: [UInt64]
    }

    /// The last seq applied; readers and subscribers see up to it.
    private(set) var lastSeq: UInt64 = 0
    /// Timestamps (ms) by seq: `timestamps[seq - 1]`, never decreasing.
    private(set) var timestamps: [Int64] = []
    private(set) var names: [String: Versions] = [:]
    /// The newest records, contiguous in seq (a skipped seq has none), up to `recentLimit` bytes.
    private var recent: [Record] = []
    private var recentBytes = 0
    let recentLimit: Int
    /// Approximate bytes held: versions, timestamps, latest records and recent records.
    private(set) var memoryBytes = 0

    init(recentLimit: Int) { self.recentLimit = recentLimit }

    /// Takes the next message of the stream, with its event name (``SubjectName/event(of:)``).
    /// A message that is no record (nil name: written by something else) still takes
    /// its seq and time, and nil is returned.
    /// A seq above the next one (messages removed from the stream behind Broker's
    /// back) leaves the seqs between without records, at this message's time.
    mutating func apply(seq: UInt64, timeNanoseconds: Int64, name: String?, data: [UInt8]) -> Record? {
        guard seq > lastSeq else { return nil }
        let timestamp = max(timeNanoseconds / 1_000_000, timestamps.last ?? 0)
        while lastSeq < seq {
            lastSeq += 1
            timestamps.append(timestamp)
            memoryBytes += 8
        }
        guard let name else { return nil }
        let record = Record(seq: seq, timestamp: timestamp, event: name, data: data)
        if var versions = names[name] {
            memoryBytes += data.count - versions.latest.data.count + 8
            versions.latest = record
            versions.seqs.append(seq)
            names[name] = versions
        } else {
            memoryBytes += data.count + name.utf8.count + 96
            names[name] = Versions(latest: record, seqs: [seq])
        }
        remember(record)
        return record
    }

    private mutating func remember(_ record: Record) {
        recent.append(record)
        recentBytes += record.data.count + record.event.utf8.count + 48
        if recentBytes > recentLimit {
            // Drop the older half at once, not one record per append.
            let drop = recent.count / 2
            recentBytes -= recent.prefix(drop).reduce(0) { $0 + $1.data.count + $1.event.utf8.count + 48 }
            recent.removeFirst(drop)
        }
    }

    /// The recent record at `seq`; nil when it is older than the recent records or was skipped.
    func recentRecord(_ seq: UInt64) -> Record?? {
        guard let first = recent.first, seq >= first.seq, seq <= lastSeq else { return nil }
        // Seqs in `recent` rise but may skip (messages that are no record).
        var low = 0
        var high = recent.count
        while low < high {
            let middle = (low + high) / 2
            if recent[middle].seq < seq { low = middle + 1 } else { high = middle }
        }
        return .some(low < recent.count && recent[low].seq == seq ? recent[low] : nil)
    }

    func timestamp(of seq: UInt64) -> Int64? {
        seq >= 1 && seq <= timestamps.count ? timestamps[Int(seq - 1)] : nil
    }

    /// The last seq stamped at or before `timestamp` (timestamps never decrease).
    func lastSeq(atOrBefore timestamp: Int64) -> UInt64 {
        var low = 0
        var high = timestamps.count
        while low < high {
            let middle = (low + high) / 2
            if timestamps[middle] <= timestamp { low = middle + 1 } else { high = middle }
        }
        return UInt64(low)
    }

    /// The seq of `name`'s newest version at or below `bound`, or nil.
    func seq(of name: String, atOrBelow bound: UInt64) -> UInt64? {
        guard let versions = names[name] else { return nil }
        if versions.latest.seq <= bound { return versions.latest.seq }
        let seqs = versions.seqs
        var low = 0
        var high = seqs.count
        while low < high {
            let middle = (low + high) / 2
            if seqs[middle] <= bound { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : seqs[low - 1]
    }
}
