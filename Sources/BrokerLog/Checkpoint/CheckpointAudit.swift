/// Compares a data directory's `CHECKPOINT` with its segments, read-only and without
/// the lock: what `broker verify` says of it (SPEC.md 2.6, 5.2). It makes the checks
/// an open makes, then rebuilds what the checkpoint covers from the frames and
/// compares the two.
package enum CheckpointAudit {
    package enum Outcome: Equatable, Sendable {
        /// The directory has no checkpoint.
        case absent
        /// The next open will ignore it, and why: harmless, the open reads every segment.
        case ignored(String)
        /// The covered frames could not be read to compare (the segment scan reports why).
        case unchecked(String)
        /// The next open would use it, and it holds exactly what the segments hold.
        case consistent(lastSeq: UInt64, segments: Int, names: Int)
        /// The next open would use it, but it disagrees with the segments.
        case inconsistent(String)
    }

    package static func run(directory: String) throws(LogError) -> Outcome {
        guard let bytes = try CheckpointFile.read(in: directory) else { return .absent }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.decode(bytes) } catch { return .ignored(error.description) }
        let listed = try SegmentFileName.list(in: directory)
        if let mismatch = checkpoint.tableMismatch(with: listed) { return .ignored(mismatch.description) }
        var spans: [LogWalker<Stop>.Span] = []
        var lastFrameTimestamp: Int64?
        for (position, entry) in checkpoint.segments.enumerated() {
            let segment: SegmentReader
            do { segment = try SegmentReader(path: listed[position].path) } catch { return .ignored("\(error)") }
            do {
                lastFrameTimestamp = try entry.check(against: segment, isLastCovered: position == checkpoint.segments.count - 1) ?? lastFrameTimestamp
            } catch {
                return .ignored(error.description)
            }
            spans.append(.init(segment, limit: entry.coveredBytes))
        }
        if let mismatch = checkpoint.timestampMismatch(lastFrameTimestamp: lastFrameTimestamp) { return .ignored(mismatch.description) }
        return try compare(checkpoint, walking: spans, firstBaseSeq: listed[0].baseSeq)
    }

    /// Stops at the first damage, keeping it: a damaged segment cannot be compared.
    struct Stop: DamagePolicy {
        var damage: Damage?
        mutating func handle(_ damage: Damage) throws(LogError) -> DamageAction {
            self.damage = damage
            return .stop
        }
    }

    /// Rebuilds the covered segments' entries and the latest index from the frames
    /// and compares them with the checkpoint's.
    private static func compare(_ checkpoint: Checkpoint, walking spans: [LogWalker<Stop>.Span], firstBaseSeq: UInt64) throws(LogError) -> Outcome {
        let walker = LogWalker(spans, policy: Stop(), chain: NameChain(firstBaseSeq: firstBaseSeq), rebuildOffsets: true)
        var position = 0
        var batchKeys = IdempotencyTable.BatchKeys()
        var keys: [UInt64: IdempotencyTable.Entry] = [:]
        while let item = try walker.next() {
            if case .frame(let frame, _, _) = item, let entry = batchKeys.note(frame) { keys[entry.firstSeq] = entry }
            guard case .segmentEnd(let segment, _, let lastSeq, let offsets) = item else { continue }
            let entry = checkpoint.segments[position]
            guard lastSeq == entry.lastSeq, offsets == entry.offsets else {
                return .inconsistent(
                    "\(segment.path): its entry (last seq \(entry.lastSeq), \(entry.offsets.count) offsets) differs from the frames (last seq \(lastSeq), \(offsets.count) offsets)"
                )
            }
            position += 1
        }
        if let damage = walker.policy.damage { return .unchecked(damage.description) }
        guard let latest = walker.chain?.latest else { return .unchecked("the name chain could not be checked") }
        if let difference = latest.difference(from: checkpoint.latest) {
            return .inconsistent("latest index: \(difference)")
        }
        // The checkpoint keeps the keys of its window: each must be a keyed batch of the frames.
        var wrongKey: UInt64?
        checkpoint.keys.forEach { entry in if wrongKey == nil, keys[entry.firstSeq] != entry { wrongKey = entry.firstSeq } }
        if let wrongKey { return .inconsistent("idempotency keys: the entry for seq \(wrongKey) is not a keyed batch of the frames") }
        return .consistent(
            lastSeq: checkpoint.segments[checkpoint.segments.count - 1].lastSeq, segments: checkpoint.segments.count, names: checkpoint.latest.count)
    }
}
