import BrokerTestSupport
import Foundation
import Testing

@testable import BrokerLog

/// Damage in the newest segment is told from a torn tail by what follows it (SPEC.md
/// 3.4): acknowledged records after a damaged frame are never cut.
@Suite(.timeLimit(.minutes(3))) struct NewestSegmentDamageTests {
    /// Every bit of the newest segment's first frame (records follow it), flipped one
    /// at a time: the open refuses (or, with a checkpoint covering it, the scrub finds)
    /// the damage at that frame's offset, and no file changes.
    @Test(arguments: [false, true])
    func everyFlippedBitInANewestFrameFollowedByOthersIsFoundAndChangesNothing(useCheckpoint: Bool) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        _ = try await RecoveryTests().makeLog(dir)
        let more = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        for n in 0..<3 { _ = try await more.append(event: "more\(n)", data: Array("{\"n\":\(n)}".utf8)) }
        await more.close()
        let newest = dir.segments().last!
        #expect(try frames(in: dir.path + "/" + newest).count >= 2)
        let first = try frames(in: dir.path + "/" + newest)[0]
        var options = LogOptions.test()
        options.useCheckpoint = useCheckpoint
        let foundByScrub = await RecoveryTests.flipEveryBit(of: first, in: newest, dir: dir, options: options)
        // With a checkpoint (the close covered the newest segment) the scrub finds them.
        #expect(foundByScrub == (useCheckpoint ? first.size * 8 : 0))
    }

    /// The case: a length field that runs past the end of the file in the
    /// middle of the newest segment, with records fsynced under `always` after it.
    @Test func aLengthRunningPastTheEndIsDamageNotATornTail() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let log = try EventLog.open(directory: dir.path, options: .test(durability: .always))
        for n in 0..<10 { _ = try await log.append(event: "e\(n % 3)", data: Array("{\"n\":\(n)}".utf8)) }
        await log.close()
        let newest = dir.segments().last!
        let third = try frames(in: dir.path + "/" + newest)[2]
        var bytes = dir.bytes(of: newest)
        bytes[third.offset + 3] = 0x10  // bodyLength grows by 256 MiB
        dir.write(bytes, to: newest)
        var options = LogOptions.test()
        options.useCheckpoint = false
        let before = dir.contents()
        #expect {
            _ = try EventLog.open(directory: dir.path, options: options)
        } throws: { error in
            guard case LogError.corrupt(let segment, let offset, let problem) = error else { return false }
            return segment.hasSuffix(newest) && offset == third.offset && problem.isShort
        }
        #expect(dir.contents() == before)
    }

    /// SPEC.md 3.4 step 4 searches from the invalid frame's own offset: a last frame
    /// whose CRC and structure are good but whose seq is not the one expected was
    /// written whole, so it is no torn write, and the open refuses instead of cutting it.
    /// A frame torn or garbled at the same place is still cut.
    @Test(arguments: ["wrong seq", "garbled"])
    func aLastFrameWhoseOnlyFaultIsItsSeqIsDamage(_ fault: String) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1, event: "a")
        segment.frame(seq: 2, event: "b")
        segment.frame(seq: fault == "wrong seq" ? 4 : 3, event: "c")
        if fault == "garbled" { segment.flip(segment.frameOffsets[2] + 20) }
        dir.write(segment.bytes, to: "00000000000000000001.seg")
        var options = LogOptions.test()
        options.useCheckpoint = false
        let before = dir.contents()
        if fault == "garbled" {
            let log = try EventLog.open(directory: dir.path, options: options)
            #expect(log.lastSeq == 2)
            #expect(try log.latest().map(\.event) == ["a", "b"])
            #expect(try await log.append(event: "c", data: Array("1".utf8)).seq == 3)
            await log.close()
            return
        }
        #expect {
            _ = try EventLog.open(directory: dir.path, options: options)
        } throws: { error in
            guard case LogError.corrupt(_, let offset, let problem) = error else { return false }
            return offset == segment.frameOffsets[2] && problem == .seqOutOfOrder(expected: 3, found: 4)
        }
        #expect(dir.contents() == before)
    }
}
