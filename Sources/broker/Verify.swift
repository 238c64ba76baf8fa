import ArgumentParser

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet built)")
    func run() async throws { throw ValidationError("not built yet") }
}
