import Glibc
import NIOCore
import NIOPosix

enum IdleSubscribers {
    static func residentMB(_ pid: Int) -> Double {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmRSS:") { return Double(text.split(separator: " ")[1]).map { $0 / 1024 } ?? 0 }
        }
        return 0
    }

    static func run(_ target: Target, serverPID: Int, subscribers: Int) async throws {
        let before = residentMB(serverPID)
        let tally = FanOutTally()
        var channels: [Channel] = []
        for _ in 0..<subscribers { channels.append(try await target.connect { SSESubscriber(expected: 0, tally: tally) }) }
        let connected = try await waitUntil(seconds: 60) { tally.ready == subscribers }
        try await Task.sleep(for: .seconds(1))
        let after = residentMB(serverPID)
        print(
            "\(tally.ready) of \(subscribers) idle subscribers\(connected ? "" : " (timed out)"): server RSS \(Int(before)) MB before, \(Int(after)) MB with them (\(Int((after - before) * 1024 * 1024 / Double(max(1, subscribers)))) bytes each)"
        )
        for channel in channels { try? await channel.close() }
    }
}
