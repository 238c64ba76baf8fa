import Foundation
import Testing

/// The modules' dependencies point one way (docs/architecture.md): the vocabulary at
/// the bottom, the stores beside each other on it, HTTP on top. A source file that
/// imports a Broker module its module may not use fails this test.
@Suite struct ModuleLayeringTests {
    static let allowed: [String: Set<String>] = [
        "BrokerStore": [],
        "BrokerStoreTesting": ["BrokerStore"],
        "BrokerJSON": ["BrokerStore"],
        "BrokerAuth": [],
        "BrokerNATS": [],
        "BrokerLog": ["BrokerStore"],
        "BrokerJetStream": ["BrokerStore", "BrokerNATS"],
        "BrokerHTTP": ["BrokerStore", "BrokerJSON", "BrokerAuth"],
        "BrokerFuzzChecks": ["BrokerStore", "BrokerLog", "BrokerJSON"],
    ]
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources").path

    static func imports(of module: String) throws -> [(file: String, module: String)] {
        let folder = sources + "/" + module
        guard let files = FileManager.default.enumerator(atPath: folder) else { return [] }
        var found: [(String, String)] = []
        for case let file as String in files where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let index = words.firstIndex(of: "import"), index + 1 < words.count else { continue }
                guard words[..<index].allSatisfy({ ["@testable", "public", "package", "internal", "@_exported"].contains($0) }) else { continue }
                let imported = String(words[index + 1])
                if imported.hasPrefix("Broker") || imported.hasPrefix("C") && imported.uppercased() == imported { found.append((file, imported)) }
            }
        }
        return found
    }

    @Test func everyModuleImportsOnlyTheModulesBelowIt() throws {
        let modules = Set(try FileManager.default.contentsOfDirectory(atPath: Self.sources))
        #expect(modules.subtracting(["broker", "CCRC32C", "CLZ4"]) == Set(Self.allowed.keys), "a module this test does not place")
        for (module, allowed) in Self.allowed {
            let native: Set<String> = module == "BrokerLog" ? ["CLZ4", "CCRC32C"] : []
            for (file, imported) in try Self.imports(of: module) where imported != module {
                #expect(allowed.union(native).contains(imported), "\(module)/\(file) imports \(imported)")
            }
        }
    }

    /// The test reads imports at all: BrokerHTTP does import the vocabulary.
    @Test func theImportsAreFound() throws {
        #expect(try Self.imports(of: "BrokerHTTP").contains { $0.module == "BrokerStore" })
        #expect(try Self.imports(of: "BrokerLog").contains { $0.module == "CLZ4" })
    }
}
