import Foundation
import Testing

/// BrokerLog's folders are layers, and each uses only the ones below it:
/// Format ← Index ← Storage ← Checkpoint ← Log. A file that names a type declared in
/// a higher layer at the top level fails this test (comments are not read).
@Suite struct LayeringTests {
    static let layers = ["Format", "Index", "Storage", "Checkpoint", "Log"]
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/BrokerLog").path

    static func files(in layer: String) throws -> [(path: String, text: String)] {
        let folder = sources + "/" + layer
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".swift") }.map {
            let text = try String(contentsOfFile: folder + "/" + $0, encoding: .utf8)
            let code = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line)
            }
            return (layer + "/" + $0, code.joined(separator: "\n"))
        }
    }

    @Test func noLayerUsesOneAboveIt() throws {
        let declaration = try NSRegularExpression(
            pattern: #"^(?:(?:public|package|private|fileprivate|final|indirect)\s+)*(?:struct|enum|class|protocol|typealias|actor)\s+(\w+)"#,
            options: .anchorsMatchLines)
        var declaredIn: [String: Int] = [:]
        for (level, layer) in Self.layers.enumerated() {
            for file in try Self.files(in: layer) {
                for match in declaration.matches(in: file.text, range: NSRange(file.text.startIndex..., in: file.text)) {
                    declaredIn[String(file.text[Range(match.range(at: 1), in: file.text)!])] = level
                }
            }
        }
        #expect(declaredIn.count > 30)
        // Every folder but the documentation catalog is a layer.
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: Self.sources).filter { !$0.hasSuffix(".docc") }) == Set(Self.layers))
        for (level, layer) in Self.layers.enumerated() {
            for file in try Self.files(in: layer) {
                for (name, higher) in declaredIn where higher > level {
                    #expect(
                        file.text.range(of: #"\b\#(name)\b"#, options: .regularExpression) == nil,
                        "\(file.path) uses \(name), declared in \(Self.layers[higher])")
                }
            }
        }
    }
}
