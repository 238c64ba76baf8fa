// swift-tools-version: 6.1
import PackageDescription

// What the libFuzzer package in Fuzz/ links: a product only for `make fuzz`
// (BROKER_FUZZ=1), never for users of the package.
let fuzzing = Context.environment["BROKER_FUZZ"] == "1"
let fuzzProducts: [Product] = fuzzing ? [.library(name: "BrokerFuzzChecks", targets: ["BrokerFuzzChecks"])] : []
// The NATS client is the JetStream store's, not a general one: the benchmarks' raw
// JetStream reference (Benchmarks/Sources/JetStreamLoad) links it, with
// BROKER_BENCHMARKS=1 (the Makefile's bench and load targets set it).
let benchmarkProducts: [Product] =
    Context.environment["BROKER_BENCHMARKS"] == "1" ? [.library(name: "BrokerNATS", targets: ["BrokerNATS"])] : []

let package = Package(
    name: "Broker",
    // Linux only (Glibc: flock, fdatasync, the open-file limit); docs/architecture.md says why.
    products: [
        // The library surface, chosen on purpose (docs/architecture.md): the vocabulary,
        // the segment engine, the server over any store, and the tokens the server's
        // access control takes.
        .library(name: "BrokerStore", targets: ["BrokerStore"]),
        .library(name: "BrokerLog", targets: ["BrokerLog"]),
        .library(name: "BrokerHTTP", targets: ["BrokerHTTP"]),
        .library(name: "BrokerAuth", targets: ["BrokerAuth"]),
        .executable(name: "broker", targets: ["broker"]),
    ] + fuzzProducts + benchmarkProducts,
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The HTTP response parts a connection's channel handlers see (already in the graph through Hummingbird).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        // SHA-256 for idempotency keys and request digests (already in the graph through jwt-kit).
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"6.0.0"),
    ],
    targets: [
        // System liblz4 (Debian: liblz4-dev), found through pkg-config.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // CRC-32C with the CPU's CRC instructions and a portable fallback.
        .target(name: "CCRC32C"),
        // The store vocabulary: records, entries, errors, the EventStore protocol and its
        // live feed. No C, no crypto: every store and the HTTP server stand on it.
        .target(
            name: "BrokerStore",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
            ]
        ),
        // A store in memory with switches to fail or hold appends: the test double.
        .target(name: "BrokerStoreTesting", dependencies: ["BrokerStore"]),
        // The segment log of one data directory (SPEC.md 2, 3), and its EventStore.
        .target(
            name: "BrokerLog",
            dependencies: [
                "BrokerStore", "CLZ4", "CCRC32C",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(name: "BrokerJSON", dependencies: ["BrokerStore"]),
        // Who may do what: token verification (jwt-kit), scopes and the claims Broker reads.
        .target(
            name: "BrokerAuth",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The web assets (Sources/BrokerHTTP/Assets: broker.js, broker.d.ts, the console,
        // openapi.json) are files in their own languages, compiled in by EmbedWebAssets.
        .executableTarget(name: "EmbedWebAssetsTool", path: "Plugins/EmbedWebAssetsTool"),
        .plugin(name: "EmbedWebAssets", capability: .buildTool(), dependencies: ["EmbedWebAssetsTool"]),
        .target(
            name: "BrokerHTTP",
            dependencies: [
                "BrokerStore", "BrokerJSON", "BrokerAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            exclude: ["Assets"],
            // The fuzzing build compiles and links everything it plans with libFuzzer's
            // flags, and libFuzzer's `main` cannot link beside the plugin's tool; it needs
            // nothing of BrokerHTTP.
            plugins: fuzzing ? [] : ["EmbedWebAssets"]
        ),
        // A NATS client on SwiftNIO: the core protocol with headers, request/reply,
        // reconnection, and the JetStream calls and ordered consumer Broker uses.
        .target(
            name: "BrokerNATS",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The event store over a replicated JetStream stream (`serve --nats`, `export`).
        .target(
            name: "BrokerJetStream",
            dependencies: [
                "BrokerStore", "BrokerNATS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the libFuzzer targets in Fuzz/ check, shared with the corpus-replay tests.
        .target(name: "BrokerFuzzChecks", dependencies: ["BrokerStore", "BrokerLog", "BrokerJSON"]),
        .executableTarget(
            name: "broker",
            dependencies: [
                "BrokerStore", "BrokerLog", "BrokerHTTP", "BrokerJSON", "BrokerJetStream", "BrokerNATS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BrokerLogTests", dependencies: ["BrokerStore", "BrokerLog", "BrokerTestSupport", "CCRC32C"]),
        // One contract over every store: memory, segments, JetStream (a real nats-server).
        .testTarget(
            name: "BrokerStoreTests",
            dependencies: [
                "BrokerStore", "BrokerStoreTesting", "BrokerLog", "BrokerJetStream", "BrokerNATS", "BrokerTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BrokerJSONTests", dependencies: ["BrokerStore", "BrokerJSON"]),
        .testTarget(name: "BrokerNATSTests", dependencies: ["BrokerStore", "BrokerNATS", "BrokerJetStream", "BrokerLog", "BrokerTestSupport"]),
        // Finding and running the `broker` executable, for the suites that drive it.
        .target(name: "BrokerTestSupport", dependencies: ["BrokerStore", "BrokerLog"], path: "Tests/Support/BrokerTestSupport"),
        .testTarget(
            name: "BrokerAuthTests", dependencies: ["BrokerAuth", "BrokerTestSupport", .product(name: "JWTKit", package: "jwt-kit")]),
        .testTarget(name: "BrokerFuzzCorpusTests", dependencies: ["BrokerFuzzChecks", "BrokerTestSupport"]),
        // A child process the crash tests SIGKILL while it appends.
        .executableTarget(name: "broker-crash-writer", dependencies: ["BrokerStore", "BrokerLog"], path: "Tests/CrashWriter"),
        // The system tier (make test-system): the `broker` executable and the crash
        // writer run as processes, as users and crashes meet them. It depends on both so
        // that they are built first.
        .testTarget(
            name: "BrokerSystemTests",
            dependencies: [
                "BrokerStore", "BrokerLog", "BrokerTestSupport", "broker", "broker-crash-writer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BrokerHTTPTests",
            dependencies: [
                "BrokerHTTP", "BrokerStore", "BrokerStoreTesting", "BrokerLog", "BrokerJSON", "BrokerAuth", "BrokerTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Imports are internal unless a file says otherwise: a module re-exports only what its
// public API needs, with `public import`.
// (The library modules under Sources/; the tests and the tools keep Swift 6's default.)
for target in package.targets where target.type == .regular && target.path == nil {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("InternalImportsByDefault")]
}
