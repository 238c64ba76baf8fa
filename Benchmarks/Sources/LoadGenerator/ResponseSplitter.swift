import NIOCore

/// Splits HTTP/1.1 responses with a Content-Length body off a byte stream, reading
/// only the status and the Content-Length field (no Strings: this runs per response).
struct ResponseSplitter {
    private var pending = ByteBuffer()
    private static let contentLength = Array("content-length:".utf8)

    /// Adds bytes and returns the status of each response they complete.
    mutating func feed(_ bytes: inout ByteBuffer) -> [Int] {
        pending.writeBuffer(&bytes)
        var statuses: [Int] = []
        while let (status, size) = pending.withUnsafeReadableBytes({ Self.response(in: $0) }) {
            statuses.append(status)
            pending.moveReaderIndex(forwardBy: size)
        }
        pending.discardReadBytes()
        return statuses
    }

    /// The status and whole size of the first response, when all of it is in `bytes`.
    private static func response(in bytes: UnsafeRawBufferPointer) -> (Int, Int)? {
        guard bytes.count >= 16 else { return nil }
        var length = 0
        var lineStart = 0
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == 0x0D, bytes[index + 1] == 0x0A else {
                index += 1
                continue
            }
            if index == lineStart {  // the empty line: the head ends here
                let size = index + 2 + length
                guard size <= bytes.count else { return nil }
                let status = (Int(bytes[9]) - 48) * 100 + (Int(bytes[10]) - 48) * 10 + Int(bytes[11]) - 48
                return (status, size)
            }
            if index - lineStart > contentLength.count,
                zip(bytes[lineStart..<(lineStart + contentLength.count)], contentLength).allSatisfy({ $0 | 0x20 == $1 })
            {
                length = 0
                for byte in bytes[(lineStart + contentLength.count)..<index] where byte >= 48 && byte <= 57 {
                    length = length * 10 + Int(byte - 48)
                }
            }
            index += 2
            lineStart = index
        }
        return nil
    }
}
