import Glibc

/// Segment file names: the base seq in 20 zero-padded digits, then `.seg` (SPEC.md 2.1).
package enum SegmentFileName {
    package static let suffix = ".seg"

    package static func name(forBaseSeq seq: UInt64) -> String {
        let digits = String(seq)
        return String(repeating: "0", count: 20 - digits.count) + digits + suffix
    }

    /// What a file name says about the file.
    package enum Match: Equatable {
        /// Not a segment name: the file is not part of the log.
        case other
        /// A segment of this base seq.
        case segment(baseSeq: UInt64)
        /// Named like a segment (20 digits and `.seg`), but its seq is 0 or above
        /// ``RecordFrame/maxSeq``: no writer makes it, and no reader guesses what it holds.
        case invalid(seq: String)
    }

    /// The damage a name of `.invalid(seq)` is (SPEC.md 2.1).
    package static func outOfRange(_ seq: String) -> FrameProblem {
        .notASegmentFile("named like a segment, but seq \(seq) is outside 1...\(RecordFrame.maxSeq)")
    }

    package static func match(_ fileName: String) -> Match {
        guard fileName.utf8.count == 20 + suffix.utf8.count, fileName.hasSuffix(suffix) else { return .other }
        let digits = fileName.utf8.prefix(20)
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return .other }
        let text = String(decoding: digits, as: UTF8.self)
        guard let seq = UInt64(text), seq >= 1, seq <= RecordFrame.maxSeq else { return .invalid(seq: text) }
        return .segment(baseSeq: seq)
    }

    /// The base seq a valid segment name encodes, or nil.
    package static func baseSeq(of fileName: String) -> UInt64? {
        if case .segment(let baseSeq) = match(fileName) { return baseSeq }
        return nil
    }

    /// One directory entry named like a segment.
    package struct Listed: Sendable {
        package let path: String
        /// The seq the name encodes; 0 when the name is invalid.
        package let baseSeq: UInt64
        /// Why this entry cannot be read as a segment (its name or its kind), or nil.
        package let problem: FrameProblem?
    }

    /// The entries of `directory` named like segments, in seq order (invalid names first).
    package static func list(in directory: String) throws(LogError) -> [Listed] {
        guard let dir = opendir(directory) else { throw .io(path: directory, operation: "opendir", errno: errno) }
        defer { closedir(dir) }
        var found: [Listed] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            let path = directory + "/" + name
            switch match(name) {
            case .other:
                continue
            case .invalid(let seq):
                found.append(
                    Listed(
                        path: path, baseSeq: 0, problem: outOfRange(seq)
                    ))
            case .segment(let baseSeq):
                let isFile = PathKind.of(path) == .file
                found.append(
                    Listed(path: path, baseSeq: baseSeq, problem: isFile ? nil : .notASegmentFile("named like a segment, but not a regular file")))
            }
        }
        return found.sorted { $0.baseSeq < $1.baseSeq }
    }
}

/// What kind of thing a path is (following symbolic links).
package enum PathKind {
    case directory, file, other, missing

    package static func of(_ path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        default: return .other
        }
    }
}
