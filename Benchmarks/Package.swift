// swift-tools-version: 6.1
// Broker's benchmarks (package-benchmark), apart from the main package so that
// `make test` does not build them. Run with `make bench` or `make bench-full`; by hand,
// with BROKER_BENCHMARKS=1 in the environment (Broker then offers the BrokerNATS
// product JetStreamLoad links).
import PackageDescription

let package = Package(
    name: "BrokerBenchmarks",
    dependencies: [
        .package(name: "Broker", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // For BareSSEServer, the floor of Hummingbird's own cost per connection.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .executableTarget(name: "ProfileOpen", dependencies: [.product(name: "BrokerStore", package: "Broker"), .product(name: "BrokerLog", package: "Broker")]),
        .executableTarget(
            name: "LoadGenerator",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Raw JetStream publishing, the reference of make load-cluster.
        .executableTarget(
            name: "JetStreamLoad",
            dependencies: [
                .product(name: "BrokerNATS", package: "Broker"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "BareSSEServer", dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
        .executableTarget(
            name: "LogBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "BrokerStore", package: "Broker"),
                .product(name: "BrokerLog", package: "Broker"),
            ],
            path: "Benchmarks/LogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
