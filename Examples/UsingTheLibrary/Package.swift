// swift-tools-version:6.0
// A separate SwiftPM package that uses TreeAttention's libraries the way any other project would: by depending on
// the package (here by path; from elsewhere, by its URL and a version) and importing its products.
import PackageDescription

let package = Package(
    name: "UsingTheLibrary",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "TreeAttention", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "UsingTheLibrary",
            dependencies: [
                .product(name: "Reference", package: "TreeAttention"),
                .product(name: "Simulator", package: "TreeAttention"),
            ]
        )
    ]
)
