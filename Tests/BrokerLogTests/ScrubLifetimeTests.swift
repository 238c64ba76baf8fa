import Foundation
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(1))) struct ScrubLifetimeTests {
    /// A scrub still queued or running when its log closes stops at once: it neither
    /// reports (the damage below would fail it) nor keeps every segment's file open.
    /// The crash loop's 1,000 reopens, on a busy machine, once ran out of descriptors
    /// waiting for the scrubs of logs it had closed long before.
    @Test func aScrubOfAClosedLogStopsWithoutReading() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let first = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        for n in 0..<300 { _ = try await first.append(event: "e\(n % 13)", data: Array(String(repeating: "d", count: 60).utf8)) }
        await first.close()
        let sealed = dir.segments()[1]
        var bytes = dir.bytes(of: sealed)
        bytes[100] ^= 0x01
        dir.write(bytes, to: sealed)

        let open = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect(throws: LogError.self) { try open.scrub() }
        await open.close()

        let closed = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        await closed.close()
        #expect(throws: Never.self) { try closed.scrub() }
    }
}
