import ArgumentParser

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet built)")
    func run() async throws { throw ValidationError("not built yet") }
}
