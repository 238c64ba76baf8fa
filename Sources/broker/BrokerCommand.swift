import ArgumentParser

@main
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "An event log with a real-time HTTP/SSE front.",
        subcommands: [Serve.self, Token.self, Dump.self, Verify.self, Replay.self, Export.self])
}
