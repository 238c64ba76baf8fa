import Foundation

// Writes one Swift file holding each input file as a raw string literal:
//
//     embed-web-assets OUTPUT.swift FILE...
//
// A file named `broker.d.ts` becomes `WebAssets.broker_d_ts` (every character that
// cannot stand in a Swift name becomes `_`). String literals, not byte arrays: the
// compiler reads a 40 KB literal in milliseconds, a 40,000-element array in seconds.

func identifier(_ fileName: String) -> String {
    let name = String(fileName.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    return name.first?.isNumber == true ? "_" + name : name
}

/// A raw multi-line literal of `text` with more `#` than any run in it, so that no
/// quote, backslash or interpolation in the text ends or escapes the literal.
func literal(_ text: String) -> String {
    var longest = 0
    var run = 0
    for character in text {
        run = character == "#" ? run + 1 : 0
        longest = max(longest, run)
    }
    let hashes = String(repeating: "#", count: longest + 1)
    // The closing delimiter at column 0 strips no indentation; a final newline in the
    // file is kept by the empty line before it.
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

/// `@main` rather than top-level code: the fuzzing build (`make fuzz`) compiles every
/// target of the graph with `-parse-as-library`.
@main struct EmbedWebAssetsTool {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let output = arguments.first else {
            FileHandle.standardError.write(Data("usage: EmbedWebAssetsTool OUTPUT.swift FILE...\n".utf8))
            exit(64)
        }
        var swift = "// Generated at build time by the EmbedWebAssets plugin from the target's Assets/ folder: edit those files.\n\n"
        swift += "enum WebAssets {\n"
        for path in arguments.dropFirst() {
            let url = URL(fileURLWithPath: path)
            let data = try Data(contentsOf: url)
            guard let text = String(data: data, encoding: .utf8), !text.contains("\r") else {
                FileHandle.standardError.write(Data("\(path): not UTF-8 text with LF line ends\n".utf8))
                exit(65)
            }
            swift += "    /// \(url.lastPathComponent)\n"
            swift += "    static let \(identifier(url.lastPathComponent)) = \(literal(text))\n"
        }
        swift += "}\n"
        try Data(swift.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    }
}
