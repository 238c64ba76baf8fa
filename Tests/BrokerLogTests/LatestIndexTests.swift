import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(1))) struct LatestIndexTests {
    /// Random updates and removals, checked against a Dictionary after every step.
    @Test func behavesLikeADictionary() {
        var generator = SystemRandomNumberGenerator()
        var index = LatestIndex()
        var reference: [String: RecordLocation] = [:]
        let names = (0..<3000).map { i in i % 7 == 0 ? "long-name-\(String(repeating: "é", count: i % 40))-\(i)" : "n\(i)" }
        var seq: UInt64 = 0
        for step in 0..<20000 {
            let name = names[Int.random(in: 0..<names.count, using: &generator)]
            if step % 5 == 4, reference[name] != nil {
                index.restore(name, to: nil)
                reference[name] = nil
            } else {
                seq += 1
                let location = RecordLocation(seq: seq, offset: UInt32(seq % 5000))
                #expect(index.update(name, to: location) == reference.updateValue(location, forKey: name))
            }
            if step % 997 == 0 {
                #expect(index.count == reference.count)
                for name in names.prefix(500) { #expect(index[name] == reference[name]) }
            }
        }
        var seen: [String: RecordLocation] = [:]
        index.forEach { seen[$0] = $1 }
        #expect(seen == reference)
    }

    @Test func restoringAReplacedLocationPutsItBack() {
        var index = LatestIndex()
        let first = RecordLocation(seq: 1, offset: 32)
        index.update("a", to: first)
        let replaced = index.update("a", to: RecordLocation(seq: 2, offset: 90))
        #expect(replaced == first)
        index.restore("a", to: replaced)
        #expect(index["a"] == first)
        #expect(index.count == 1)
    }
}
