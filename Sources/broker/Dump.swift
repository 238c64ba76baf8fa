import ArgumentParser

struct Dump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet built)")
    func run() async throws { throw ValidationError("not built yet") }
}
