#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Segment file names: the base seq in 20 zero-padded digits, then `.seg`.
public enum SegmentFileName {
    public static let suffix = ".seg"

    public static func name(forBaseSeq seq: UInt64) -> String {
        let digits = String(seq)
        return String(repeating: "0", count: 20 - digits.count) + digits + suffix
    }

    /// The base seq a file name encodes, or nil for any other name.
    public static func baseSeq(of fileName: String) -> UInt64? {
        guard fileName.utf8.count == 20 + suffix.utf8.count, fileName.hasSuffix(suffix) else { return nil }
        let digits = fileName.utf8.prefix(20)
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }

    /// The segments in `directory`, in seq order.
    static func list(in directory: String) throws(LogError) -> [(baseSeq: UInt64, path: String)] {
        guard let dir = opendir(directory) else { throw .io(path: directory, operation: "opendir", errno: errno) }
        defer { closedir(dir) }
        var found: [(UInt64, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if let seq = baseSeq(of: name) { found.append((seq, directory + "/" + name)) }
        }
        return found.sorted { $0.0 < $1.0 }
    }
}

/// What kind of thing a path is.
enum PathKind {
    case directory, file, missing

    static func of(_ path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }
}
