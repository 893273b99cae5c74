// swift-tools-version:6.0
import PackageDescription

// No unsafeFlags anywhere: the package must stay usable as a dependency. Vector code comes from
// the C target `CDMSKernels`, whose hot functions carry per-function `target` attributes and are
// picked at run time from the CPU's features.
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "swift-dms",
    // macOS 14: the server's Hummingbird 2 needs it.
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "DMSKit", targets: ["DMSKit"]),
        .library(name: "DMSRetrofit", targets: ["DMSRetrofit"]),
        .library(name: "DMSEvaluation", targets: ["DMSEvaluation"]),
        .library(name: "DMSServer", targets: ["DMSServer"]),
        .executable(name: "dms", targets: ["dms"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "CDMSKernels", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "DMSKit", dependencies: ["CDMSKernels"], swiftSettings: swift5),
        .target(name: "DMSRetrofit", dependencies: ["DMSKit"], swiftSettings: swift5),
        .target(name: "DMSEvaluation", dependencies: ["DMSKit"], swiftSettings: swift5),
        .target(
            name: "DMSServer",
            dependencies: [
                "DMSKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift5),
        .executableTarget(
            name: "dms",
            dependencies: [
                "DMSKit", "DMSRetrofit", "DMSEvaluation", "DMSServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift5),
        .testTarget(name: "DMSKitTests", dependencies: ["DMSKit"], swiftSettings: swift5),
        .testTarget(name: "DMSRetrofitTests", dependencies: ["DMSRetrofit", "DMSKit"], swiftSettings: swift5),
        .testTarget(name: "DMSEvaluationTests", dependencies: ["DMSEvaluation", "DMSKit"], swiftSettings: swift5),
        .testTarget(
            name: "DMSServerTests",
            dependencies: [
                "DMSServer", "DMSKit", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift5),
    ]
)
