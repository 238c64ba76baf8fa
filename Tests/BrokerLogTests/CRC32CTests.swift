import CCRC32C
import Testing

@testable import BrokerLog

@Suite(.timeLimit(.minutes(2))) struct CRC32CTests {
    @Test func standardCheckValue() {
        let bytes = [UInt8]("123456789")
        #expect(CRC32C.checksum(bytes) == 0xE306_9283)
        bytes.withUnsafeBytes { raw in
            #expect(broker_crc32c_software(0, raw.baseAddress, raw.count) == 0xE306_9283)
            if broker_crc32c_hardware_available() != 0 {
                #expect(broker_crc32c_hardware(0, raw.baseAddress, raw.count) == 0xE306_9283)
            }
        }
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func hardwareAndSoftwareAgreeOnEveryLength() throws {
        try #require(broker_crc32c_hardware_available() != 0, "this CPU has no CRC-32C instructions")
        var generator = SystemRandomNumberGenerator()
        let buffer = (0..<4100).map { _ in UInt8.random(in: 0...255, using: &generator) }
        buffer.withUnsafeBytes { raw in
            for length in 0...4096 {
                // Vary the alignment too: start at offsets 0 to 3.
                let start = raw.baseAddress! + (length % 4)
                let sw = broker_crc32c_software(0x1234_5678, start, length)
                let hw = broker_crc32c_hardware(0x1234_5678, start, length)
                #expect(sw == hw, "length \(length)")
                if sw != hw { break }
            }
        }
    }

    @Test func continuingEqualsOneShot() {
        let bytes = [UInt8]("The quick brown fox jumps over the lazy dog")
        let whole = CRC32C.checksum(bytes)
        let split = CRC32C.checksum(Array(bytes[10...]), continuing: CRC32C.checksum(Array(bytes[..<10])))
        #expect(whole == split)
    }
}
