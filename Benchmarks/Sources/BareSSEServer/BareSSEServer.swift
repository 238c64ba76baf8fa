// The floor under Broker's memory per idle SSE connection: a Hummingbird 2 server with
// nothing but a router, `GET /healthz` and a `GET /events` that writes one comment and
// then waits. `make load` holds the same idle subscribers on it and on Broker.
//
//   BareSSEServer PORT
import Hummingbird
import NIOCore

@main
enum BareSSEServer {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8081
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        router.get("/events") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": connected\n\n"))
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(60))
                        try await writer.write(ByteBuffer(string: ": ping\n\n"))
                    }
                    try await writer.finish(nil)
                })
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
