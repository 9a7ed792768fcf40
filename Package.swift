// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "TreeAttention",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Reference", targets: ["Reference"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        .executable(name: "treeattn", targets: ["CLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(
            name: "Reference",
            dependencies: [
                "COpenBLAS",
                .product(name: "Numerics", package: "swift-numerics"),
            ],
            // The numerical core is optimised even in debug builds, so the test suite runs real sizes quickly.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "Simulator",
            dependencies: [
                "Reference",
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "Yams", package: "Yams"),
            ],
            // The event loop mutates class state millions of times a second; dynamic exclusivity checks cost ~2.7x.
            // The simulator is single-threaded, so they guard nothing here.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "Reference",
                "Simulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "ReferenceTests",
            dependencies: ["Reference", .product(name: "Numerics", package: "swift-numerics")]
        ),
        .testTarget(name: "CLITests"),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["Simulator", "Reference"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
