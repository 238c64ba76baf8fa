// swift-tools-version: 6.1
// libFuzzer targets, built apart from the main package because they have no `main`
// (libFuzzer supplies it). Run them with `make fuzz` from the repository root.
import PackageDescription

let package = Package(
    name: "BrokerFuzz",
    dependencies: [.package(name: "Broker", path: "..")],
    targets: [
        .executableTarget(name: "FuzzSegments", dependencies: [.product(name: "BrokerFuzzChecks", package: "Broker")]),
        .executableTarget(name: "FuzzInsertBody", dependencies: [.product(name: "BrokerFuzzChecks", package: "Broker")]),
    ],
    swiftLanguageModes: [.v6]
)
