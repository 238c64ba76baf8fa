import BrokerStore
import BrokerTestSupport
import Testing

@testable import BrokerLog

/// The walker over segments built in memory (``MemoryBytes``), no disk: what it hands
/// over and what it reports for each way SPEC.md 2.3 and 3.4 say a segment can be
/// broken, the way LevelDB's `log_test` reads its log from a string.
@Suite struct WalkerTests {
    /// Every damage the walk met, going on past each as the tools do.
    struct Collect: DamagePolicy {
        var found: [Damage] = []
        mutating func handle(_ damage: Damage) -> DamageAction {
            found.append(damage)
            return .skip
        }
    }

    struct Walk {
        var seqs: [UInt64] = []
        var damage: [Damage] = []
        /// (offset, "torn" or "damage") of each damage, in order.
        var places: [String] { damage.map { "\($0.offset) \($0.kind == .corrupt ? "damage" : "torn")" } }
    }

    static func walk(_ segment: SegmentBuilder, newest: Bool = true) throws -> Walk {
        let reader = try SegmentReader(file: MemoryBytes(segment.bytes), path: "memory", expectedBaseSeq: nil)
        let walker = LogWalker([.init(reader, isNewest: newest)], policy: Collect())
        var walk = Walk()
        while let item = try walker.next() {
            if case .frame(let frame, _, _) = item { walk.seqs.append(frame.seq) }
        }
        walk.damage = walker.policy.found
        return walk
    }

    static func sound(_ count: UInt64) -> SegmentBuilder {
        var segment = SegmentBuilder(baseSeq: 1)
        for seq in 1...count { segment.frame(seq: seq, event: "e\(seq)") }
        return segment
    }

    @Test func aSoundSegmentIsHandedOverWhole() throws {
        let walk = try Self.walk(Self.sound(5))
        #expect(walk.seqs == [1, 2, 3, 4, 5])
        #expect(walk.damage.isEmpty)
    }

    /// 3.4 step 4: a last frame cut short, or garbled, with nothing after it.
    @Test(arguments: ["cut", "garbled"])
    func aBrokenLastFrameOfTheNewestSegmentIsATornTail(_ how: String) throws {
        var segment = Self.sound(3)
        let last = segment.frameOffsets[2]
        if how == "cut" { segment.truncate(to: segment.bytes.count - 5) } else { segment.flip(last + 30) }
        let walk = try Self.walk(segment)
        #expect(walk.seqs == [1, 2])
        #expect(walk.places == ["\(last) torn"])
        // In a sealed segment the same bytes are damage.
        let sealed = try Self.walk(segment, newest: false)
        #expect(sealed.places == ["\(last) damage"])
    }

    /// 2.3: after a frame that fails rules 1 to 4 the reader skips it and takes the
    /// next valid frame with its own seq; 3.4: a valid frame after it makes it damage.
    @Test func aFlippedBitWithFramesAfterItIsDamageAndTheWalkGoesOn() throws {
        var segment = Self.sound(4)
        segment.flip(segment.frameOffsets[1] + 20)
        let walk = try Self.walk(segment)
        #expect(walk.seqs == [1, 3, 4])
        #expect(walk.places == ["\(segment.frameOffsets[1]) damage"])
    }

    /// 3.4 step 4 searches from the invalid frame's own offset: a whole last frame whose
    /// only fault is its seq is no torn write.
    @Test func aLastFrameWithTheWrongSeqIsDamage() throws {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1)
        segment.frame(seq: 3, event: "f")
        let walk = try Self.walk(segment)
        #expect(walk.places == ["\(segment.frameOffsets[1]) damage"])
        #expect(walk.damage.first?.problem == .seqOutOfOrder(expected: 2, found: 3))
    }

    /// 2.3 rule 6 and "after an incomplete batch": a batch broken at its last frame is
    /// reported at its first frame, none of it is handed over, then the frame that broke
    /// it is reported; the valid frame after it (seq 5, which the seq expected at the
    /// broken frame, 4, allows) makes both damage, and is handed over.
    @Test func aBrokenBatchFollowedByAValidFrame() throws {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1)
        segment.frame(seq: 2, continuesBatch: true)
        segment.frame(seq: 3, continuesBatch: true)
        segment.frame(seq: 4)
        segment.frame(seq: 5)
        segment.flip(segment.frameOffsets[3] + 4)  // the CRC field of the batch's last frame
        let walk = try Self.walk(segment)
        #expect(walk.seqs == [1, 5])
        #expect(walk.places == ["\(segment.frameOffsets[1]) damage", "\(segment.frameOffsets[3]) damage"])
        #expect(walk.damage.first?.problem == .incompleteBatch(firstSeq: 2, records: 2))
        // Without the frame after it, the whole batch is the torn tail.
        segment.truncate(to: segment.frameOffsets[4])
        let torn = try Self.walk(segment)
        #expect(torn.seqs == [1])
        #expect(torn.places == ["\(segment.frameOffsets[1]) torn"])
    }

    /// 2.3: a keyed frame inside a batch is reported at that frame and still handed over.
    @Test func aKeyInsideABatchIsReportedAndTheFrameHandedOver() throws {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1, continuesBatch: true, key: IdempotencyKey("first", requestDigest: 1))
        segment.frame(seq: 2, key: IdempotencyKey("second", requestDigest: 2))
        let walk = try Self.walk(segment)
        #expect(walk.seqs == [1, 2])
        #expect(walk.places == ["\(segment.frameOffsets[1]) damage"])
        #expect(walk.damage.first?.problem == .keyInsideBatch(seq: 2))
    }
}
