// swift-tools-version: 6.1
// Broker's benchmarks (package-benchmark), apart from the main package so that
// `make test` does not build them. Run with `make bench` or `make bench-full`.
import PackageDescription

let package = Package(
    name: "BrokerBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Broker", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(name: "ProfileOpen", dependencies: [.product(name: "BrokerLog", package: "Broker")]),
        .executableTarget(
            name: "LogBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "BrokerLog", package: "Broker"),
            ],
            path: "Benchmarks/LogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
