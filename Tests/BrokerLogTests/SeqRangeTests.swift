import BrokerTestSupport
import Foundation
import Testing

@testable import BrokerLog

/// Seqs and segment names outside 1...2^63-1 (SPEC.md 1, 2.1): an open refuses them
/// with the file and offset, changes nothing, and never traps on arithmetic.
@Suite(.timeLimit(.minutes(1))) struct SeqRangeTests {
    /// A sound first segment holding seqs 1 and 2.
    func soundFirstSegment(_ dir: TempDirectory) {
        var first = SegmentBuilder(baseSeq: 1)
        first.frame(seq: 1)
        first.frame(seq: 2)
        dir.write(first.bytes, to: SegmentFileName.name(forBaseSeq: 1))
    }

    @Test(arguments: ["00000000000000000000.seg", "09223372036854775808.seg", "18446744073709551615.seg", "99999999999999999999.seg"])
    func aSegmentNamedOutsideTheSeqRangeStopsTheOpen(name: String) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        soundFirstSegment(dir)
        dir.write(SegmentBuilder(baseSeq: UInt64(name.prefix(20)) ?? .max).bytes, to: name)
        let before = dir.contents()
        #expect {
            _ = try EventLog.open(directory: dir.path, options: .test())
        } throws: { error in
            guard case LogError.corrupt(let segment, let offset, .notASegmentFile(let why)) = error else { return false }
            return segment.hasSuffix(name) && offset == 0 && why.contains("outside 1...9223372036854775807")
        }
        #expect(dir.contents() == before)
    }

    @Test func aDirectoryNamedLikeASegmentStopsTheOpen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        soundFirstSegment(dir)
        try FileManager.default.createDirectory(atPath: dir.path + "/00000000000000000003.seg", withIntermediateDirectories: false)
        #expect {
            _ = try EventLog.open(directory: dir.path, options: .test())
        } throws: { error in
            guard case LogError.corrupt(_, 0, .notASegmentFile(let why)) = error else { return false }
            return why.contains("not a regular file")
        }
    }

    /// A header or a frame with a seq past the range is damage (SPEC.md 2.2, 2.3); at
    /// the range's end the log opens and refuses to append past it.
    @Test func seqsAtAndPastTheEndOfTheRange() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let last = RecordFrame.maxSeq
        var newest = SegmentBuilder(baseSeq: last)
        newest.frame(seq: last)
        dir.write(newest.bytes, to: SegmentFileName.name(forBaseSeq: last))
        let log = try EventLog.open(directory: dir.path, options: .test())
        #expect(log.lastSeq == last)
        #expect(try log.latest(of: "e")?.seq == last)
        await #expect(throws: LogError.self) { _ = try await log.append(event: "e", data: []) }
        await log.close()

        var past = SegmentBuilder(baseSeq: .max)
        past.frame(seq: .max)
        past.bytes.withUnsafeBytes { raw in
            #expect(throws: FrameProblem.seqOutOfRange(.max)) { _ = try SegmentHeader.decode(raw) }
            #expect(throws: FrameProblem.seqOutOfRange(.max)) {
                _ = try RecordFrame.decode(UnsafeRawBufferPointer(rebasing: raw[SegmentHeader.size...]))
            }
        }
    }
}
