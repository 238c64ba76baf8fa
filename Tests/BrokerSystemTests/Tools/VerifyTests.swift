import BrokerLog
import BrokerTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(2))) struct VerifyTests {
    @Test func soundLogsPass() async throws {
        for fixture in ["uncompressed", "lz4", "uncompressed/00000000000000000034.seg"] {
            let result = try await Tool.run(["verify", fixture])
            #expect(result.status == 0, "\(fixture): \(result.stdout)")
            #expect(result.stdout.hasPrefix("OK: "))
        }
        let summary = try await Tool.run(["verify", "uncompressed"]).stdout
        #expect(summary.hasPrefix("OK: 2 segment(s), 40 record(s), 4.8 KB in "))
    }

    @Test func aTornTailIsANoteNotAFailure() async throws {
        let result = try await Tool.run(["verify", "torn-tail"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("byte offset 2682: 64 bytes of an incomplete record"))
    }

    @Test func damageFailsWithSegmentAndOffset() async throws {
        let result = try await Tool.run(["verify", "corrupt-sealed"])
        #expect(result.status == 1)
        #expect(
            result.stdout.hasPrefix(
                "corrupt-sealed/00000000000000000001.seg: byte offset 32: CRC mismatch (stored 0x8998E404, computed 0x4C5FB4C4)\nFAILED: 1 problem(s)"
            ))
    }

    @Test func verifyNeverWrites() async throws {
        func snapshot() throws -> [Data] {
            try FileManager.default.contentsOfDirectory(atPath: Tool.segments + "/torn-tail").sorted().map {
                try Data(contentsOf: URL(fileURLWithPath: Tool.segments + "/torn-tail/" + $0))
            }
        }
        let before = try snapshot()
        _ = try await Tool.run(["verify", "torn-tail"])
        _ = try await Tool.run(["dump", "torn-tail"])
        #expect(try snapshot() == before)
    }
}
