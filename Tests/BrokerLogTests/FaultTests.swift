import BrokerStore
import Foundation
import Glibc
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(2))) struct FaultTests {
    func open(_ dir: TempDirectory, _ faults: SwitchableFaults, durability: Durability = .always, segmentBytes: Int = 1 << 20) throws -> EventLog {
        var options = LogOptions.test(durability: durability, segmentBytes: segmentBytes)
        options.faults = faults
        return try EventLog.open(directory: dir.path, options: options)
    }

    @Test(arguments: [0, 17])
    func aFullDiskFailsTheAppendLeavesNoTraceAndRecovers(partialBytes: Int) async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let faults = SwitchableFaults()
        let log = try open(dir, faults)
        _ = try await log.append(event: "a", data: [UInt8]("1"))
        let before = dir.contents()
        faults.failWrites(afterWriting: partialBytes)
        await #expect(throws: LogError.self) { _ = try await log.append(event: "a", data: [UInt8]("2")) }
        await #expect(throws: LogError.self) { _ = try await log.append([AppendEntry(event: "b", data: []), AppendEntry(event: "a", data: [])]) }
        // Nothing acknowledged, nothing left behind, reads still work.
        #expect(dir.contents() == before)
        #expect(log.lastSeq == 1)
        #expect(try log.latest(of: "a")?.text == "1")
        #expect(try log.history(of: "a")?.count == 1)
        // Space comes back: appends go on from the next seq, the chain is intact.
        faults.heal()
        #expect(try await log.append(event: "a", data: [UInt8]("3")).seq == 2)
        #expect(try log.history(of: "a")?.map(\.text) == ["1", "3"])
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test())
        #expect(try allRecords(reopened).map(\.text) == ["1", "3"])
        await reopened.close()
    }

    @Test func aFailedFsyncAcknowledgesNothingAndStopsAppendsUntilReopen() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let faults = SwitchableFaults()
        let log = try open(dir, faults)
        _ = try await log.append(event: "a", data: [UInt8]("1"))
        faults.failSyncs()
        await #expect(throws: LogError.self) { _ = try await log.append(event: "a", data: [UInt8]("2")) }
        faults.heal()
        // The kernel may have dropped the pages: no more appends on this handle.
        await #expect(throws: LogError.self) { _ = try await log.append(event: "a", data: [UInt8]("3")) }
        #expect(log.lastSeq == 1)
        #expect(try log.latest(of: "a")?.text == "1")
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test())
        // The unacknowledged record may or may not have survived; the acknowledged one did.
        #expect(try allRecords(reopened).first?.text == "1")
        let next = try await reopened.append(event: "a", data: [UInt8]("4")).seq
        #expect(next == reopened.lastSeq)
        await reopened.close()
    }

    @Test func aFullDiskWhileStartingASegmentFailsCleanly() async throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        let faults = SwitchableFaults()
        let log = try open(dir, faults, durability: .never, segmentBytes: 4096)
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        for _ in 0..<3 { _ = try await log.append(event: "r", data: payload) }
        #expect(dir.segments().count == 1)
        faults.failWrites()
        await #expect(throws: LogError.self) { _ = try await log.append(event: "r", data: payload) }
        #expect(dir.segments().count == 1)
        faults.heal()
        #expect(try await log.append(event: "r", data: payload).seq == 4)
        #expect(dir.segments().count == 2)
        await log.close()
        let reopened = try EventLog.open(directory: dir.path, options: .test(segmentBytes: 4096))
        #expect(reopened.lastSeq == 4)
        await reopened.close()
    }
}
