import BrokerLog
import BrokerTestSupport
import Foundation
import Testing

/// What `dump`, `verify`, `replay` and `serve` make of file names, seqs and data that
/// no writer produces (SPEC.md 2.1, 4.1, 5.2): a clear report, never a crash.
@Suite(.timeLimit(.minutes(2))) struct DamageToolTests {
    func directory(_ files: [String: [UInt8]]) throws -> String { try Tool.scratchDirectory("damage", files) }

    func sound(_ count: UInt64, baseSeq: UInt64 = 1) -> [UInt8] {
        var segment = SegmentBuilder(baseSeq: baseSeq)
        for seq in baseSeq..<(baseSeq + count) { segment.frame(seq: seq, event: "e\(seq)", data: "{\"n\":\(seq)}") }
        return segment.bytes
    }

    /// Exit status 0 or 1, never a signal (a trap is status 4 or 5 here).
    func expectNoCrash(_ result: CommandResult, _ what: String) {
        #expect(result.status == 0 || result.status == 1, "\(what) ended with \(result.status): \(result.stderr)")
    }

    @Test func segmentNamesOutsideTheSeqRangeAreReported() async throws {
        let dir = try directory([
            "00000000000000000001.seg": sound(2),
            "00000000000000000000.seg": SegmentBuilder(baseSeq: 0).bytes,
            "18446744073709551615.seg": SegmentBuilder(baseSeq: .max).bytes,
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dump = try await Tool.run(["dump", dir])
        #expect(dump.status == 0)
        #expect(
            dump.stdout.contains(
                "00000000000000000000.seg: byte offset 0: named like a segment, but seq 00000000000000000000 is outside 1...9223372036854775807"))
        #expect(dump.stdout.contains("18446744073709551615.seg: byte offset 0: named like a segment"))
        #expect(dump.stdout.contains(#"{"n":2}"#))
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("FAILED: 2 problem(s)"), "\(verify.stdout)")
        let replay = try await Tool.run(["replay", dir])
        #expect(replay.status == 1)
        #expect(replay.stderr.contains("is outside 1...9223372036854775807"))
        let lone = try await Tool.run(["verify", dir + "/00000000000000000000.seg"])
        #expect(lone.status == 1)
        let serve = try await Tool.run([], shell: "timeout 20 BROKER serve --data-dir '\(dir)' --port 0")
        #expect(serve.status == 64, "serve: \(serve.status) \(serve.stderr)")
        #expect(serve.stderr.contains("00000000000000000000.seg: byte offset 0: named like a segment"), "\(serve.stderr)")
    }

    /// A flipped bit in the last frame of a batch in the newest segment, with a valid
    /// frame after it (Fixtures/segments/batches, bit 6 of byte 922 of its second
    /// segment: the CRC field of seq 39, the last of the batch 36 to 39; seq 40 follows).
    /// Both the batch and the broken frame are damage, not a torn tail, because seq 40
    /// follows them; `dump` goes on to print seq 40, and the open refuses the directory
    /// at the batch. The search for a later frame counted seqs from the last record
    /// handed over (35), not from the broken frame's (39), and so missed seq 40.
    @Test func aBrokenBatchFollowedByAValidFrameIsDamageAndTheFrameIsPrinted() async throws {
        let fixture = Tool.segments + "/batches"
        let second = "00000000000000000032.seg"
        var bytes = try #require(FileManager.default.contents(atPath: fixture + "/" + second)).map { $0 }
        bytes[922] ^= 1 << 6
        let first = try #require(FileManager.default.contents(atPath: fixture + "/00000000000000000001.seg")).map { $0 }
        let dir = try directory(["00000000000000000001.seg": first, second: bytes])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("\(second): byte offset 731: batch starting at seq 36 is incomplete"), "\(verify.stdout)")
        #expect(verify.stdout.contains("\(second): byte offset 918: CRC mismatch"), "\(verify.stdout)")
        #expect(verify.stdout.contains("FAILED: 2 problem(s)"), "\(verify.stdout)")
        #expect(!verify.stdout.contains("torn tail") && !verify.stderr.contains("torn tail"), "\(verify.stdout)\(verify.stderr)")
        let dump = try await Tool.run(["dump", "--json", dir])
        let lines = dump.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix(#"{"type":"damage""#) && $0.contains(#""offset":918"#) }, "\(dump.stdout.suffix(1500))")
        #expect(!lines.contains { $0.hasPrefix(#"{"type":"incomplete""#) }, "\(dump.stdout.suffix(1500))")
        #expect(lines.contains { $0.hasPrefix(#"{"type":"record","seq":40,"#) }, "\(dump.stdout.suffix(1500))")
        // Nothing of the broken batch is printed as a record.
        for seq in 36...39 { #expect(!lines.contains { $0.hasPrefix(#"{"type":"record","seq":\#(seq),"#) }, "seq \(seq)") }
        let serve = try await Tool.run([], shell: "timeout 20 BROKER serve --data-dir '\(dir)' --port 0")
        #expect(serve.status == 64, "serve: \(serve.status) \(serve.stderr)")
        #expect(serve.stderr.contains("byte offset 731: batch starting at seq 36 is incomplete"), "\(serve.stderr)")
    }

    /// After damage the seq check restarts at the next valid frame: one with the
    /// greatest seq a u64 holds used to trap computing the seq after it.
    @Test func aFrameWithTheLargestSeqAfterDamageIsDamage() async throws {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1)
        segment.frame(seq: 2)
        segment.flip(segment.frameOffsets[1] + 10)
        segment.frame(seq: .max)
        segment.frame(seq: 4)
        let dir = try directory(["00000000000000000001.seg": segment.bytes, "00000000000000000005.seg": sound(1, baseSeq: 5)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for command in ["dump", "verify", "replay"] {
            let result = try await Tool.run([command, dir])
            expectNoCrash(result, command)
            #expect((result.stdout + result.stderr).contains("byte offset \(segment.frameOffsets[1])"), "\(command): \(result.stdout)")
        }
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.stdout.contains("seq 18446744073709551615 is outside 1...9223372036854775807"), "\(verify.stdout)")
    }

    /// The library stores any bytes; every JSON line the tools print stays JSON
    /// (`dataBase64` in place of `data`).
    @Test func jsonOutputIsValidForDataThatIsNotJSON() async throws {
        let dir = NSTemporaryDirectory() + "broker-notjson-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try EventLog.open(directory: dir)
        _ = try await log.append(event: "text", data: Array("not json {".utf8))
        _ = try await log.append(event: "bytes", data: [0xFF, 0x00, 0x0A, 0x22])
        _ = try await log.append(event: "json", data: Array(#"{"a":1}"#.utf8))
        await log.close()
        for arguments in [["replay", dir], ["replay", "--as-of", "99999999999999", dir], ["dump", "--json", dir]] {
            let result = try await Tool.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            for line in result.stdout.split(separator: "\n") {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(arguments): not JSON: \(line)")
            }
            #expect(result.stdout.contains(#""dataBase64":"bm90IGpzb24gew==""#), "\(arguments)")
            #expect(result.stdout.contains(#""dataBase64":"/wAKIg==""#), "\(arguments)")
        }
    }

    @Test func aDirectoryNamedLikeASegmentIsReportedAndTheRestRead() async throws {
        let dir = try directory(["00000000000000000001.seg": sound(3)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/00000000000000000004.seg", withIntermediateDirectories: false)
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("00000000000000000004.seg: byte offset 0: named like a segment, but not a regular file"), "\(verify.stdout)")
        #expect(!(verify.stdout + verify.stderr).contains("Is a directory"))
        let dump = try await Tool.run(["dump", dir])
        #expect(dump.status == 0)
        #expect(dump.stdout.contains("3 records"))
    }

    /// A lone segment file is the active one only when no later segment sits beside
    /// it: then an incomplete last frame is a write in progress; otherwise it is damage.
    @Test func aLoneSegmentIsActiveOnlyWhenItIsTheNewest() async throws {
        var torn = SegmentBuilder(baseSeq: 1)
        torn.frame(seq: 1)
        torn.frame(seq: 2)
        let cut = Array(torn.bytes.dropLast(5))
        let alone = try directory(["00000000000000000001.seg": cut])
        let followed = try directory(["00000000000000000001.seg": cut, "00000000000000000002.seg": sound(1, baseSeq: 2)])
        defer {
            try? FileManager.default.removeItem(atPath: alone)
            try? FileManager.default.removeItem(atPath: followed)
        }
        let newest = try await Tool.run(["verify", alone + "/00000000000000000001.seg"])
        #expect(newest.status == 0, "\(newest.stdout)")
        #expect(newest.stderr.contains("incomplete record"))
        let sealed = try await Tool.run(["verify", followed + "/00000000000000000001.seg"])
        #expect(sealed.status == 1, "\(sealed.stdout)")
        #expect(sealed.stdout.contains("byte offset \(torn.frameOffsets[1]): incomplete"))
    }

    @Test func aLinkToNoRecordWithAnOffsetFailsVerify() async throws {
        var segment = SegmentBuilder(baseSeq: 1)
        segment.frame(seq: 1)
        segment.frame(seq: 2, prevSeq: 0, prevOffset: 40)
        let dir = try directory(["00000000000000000001.seg": segment.bytes, "00000000000000000003.seg": sound(1, baseSeq: 3)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 1)
        #expect(
            verify.stdout.contains("byte offset \(segment.frameOffsets[1]): link to seq 0 at byte offset 40 cannot point at a frame"),
            "\(verify.stdout)")
    }

    /// What the next open repairs quietly (a newest segment torn while it was
    /// created) is a note for verify, not a failure.
    @Test func aNewestSegmentShorterThanAHeaderIsANote() async throws {
        let dir = try directory(["00000000000000000001.seg": sound(2), "00000000000000000003.seg": [0x42, 0x52, 0x4F]])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verify = try await Tool.run(["verify", dir])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stderr.contains("00000000000000000003.seg: byte offset 0: 3 bytes of an incomplete record"), "\(verify.stderr)")
    }
}
