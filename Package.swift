// swift-tools-version:6.0
import PackageDescription

// No unsafeFlags anywhere: the package must stay usable as a dependency. Vector code comes from
// the C target `CDMSKernels`, whose hot functions carry per-function `target` attributes and are
// picked at run time from the CPU's features.
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "swift-dms",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DMSKit", targets: ["DMSKit"]),
        .library(name: "DMSRetrofit", targets: ["DMSRetrofit"]),
        .library(name: "DMSEvaluation", targets: ["DMSEvaluation"]),
        .executable(name: "dms", targets: ["dms"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CDMSKernels", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "DMSKit", dependencies: ["CDMSKernels"], swiftSettings: swift5),
        .target(name: "DMSRetrofit", dependencies: ["DMSKit"], swiftSettings: swift5),
        .target(name: "DMSEvaluation", dependencies: ["DMSKit"], swiftSettings: swift5),
        .executableTarget(
            name: "dms",
            dependencies: [
                "DMSKit", "DMSRetrofit", "DMSEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift5),
        .testTarget(name: "DMSKitTests", dependencies: ["DMSKit"], swiftSettings: swift5),
        .testTarget(name: "DMSRetrofitTests", dependencies: ["DMSRetrofit", "DMSKit"], swiftSettings: swift5),
        .testTarget(name: "DMSEvaluationTests", dependencies: ["DMSEvaluation", "DMSKit"], swiftSettings: swift5),
    ]
)
