// swift-tools-version:6.0
import PackageDescription

// No unsafeFlags anywhere: the package must stay usable as a dependency. Vector code comes from
// the C target `CDMSKernels`, whose hot functions carry per-function `target` attributes and are
// picked at run time from the CPU's features.
let package = Package(
    name: "swift-dms",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DMSKit", targets: ["DMSKit"]),
        .executable(name: "dms", targets: ["dms"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "CDMSKernels",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(
            name: "DMSKit",
            dependencies: ["CDMSKernels"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "dms",
            dependencies: [
                "DMSKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "DMSKitTests",
            dependencies: ["DMSKit"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
