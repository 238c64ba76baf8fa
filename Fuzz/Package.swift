// swift-tools-version: 6.1
// libFuzzer targets, built apart from the main package because they have no `main`
// (libFuzzer supplies it). Run them with `make fuzz` from the repository root.
import PackageDescription

let package = Package(
    name: "BrokerFuzz",
    dependencies: [.package(name: "Broker", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzSegments", dependencies: ["FuzzDriver", .product(name: "BrokerFuzzChecks", package: "Broker")]),
        .executableTarget(name: "FuzzInsertBody", dependencies: ["FuzzDriver", .product(name: "BrokerFuzzChecks", package: "Broker")]),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["FuzzDriver", .product(name: "BrokerFuzzChecks", package: "Broker")]),
    ],
    swiftLanguageModes: [.v6]
)
