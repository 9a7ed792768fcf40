// swift-tools-version:6.0
import PackageDescription

// One concern per target, dependency arrows one way. The module map is drawn once, in README.md ("Module map");
// Tests/ArchitectureTests fails when a target imports a module the map does not show. No unsafe flags, so other
// packages can depend on the libraries by version.

/// Every target's README is documentation, not a source or resource.
let readme = ["README.md"]

let package = Package(
    name: "TreeAttention",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TreeCore", targets: ["TreeCore"]),
        .library(name: "Reference", targets: ["Reference"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        .library(name: "Studies", targets: ["Studies"]),
        .library(name: "Walkthrough", targets: ["Walkthrough"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .executable(name: "treeattn", targets: ["CLI"]),
        .executable(name: "treeattn-mpi", targets: ["MPICLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["openmpi-bin", "libopenmpi-dev"])]
        ),
        // The softmax's element-wise passes in C: AVX2+FMA chosen at run time, a portable baseline otherwise.
        .target(name: "CKernels", path: "Sources/CKernels", exclude: readme),
        // The BLAS-free core under both libraries: shard layouts, reduction plans, atomic files, memory budgets,
        // YAML/JSON, the error protocol, escaping and formatting.
        .target(name: "TreeCore", dependencies: [.product(name: "Yams", package: "Yams")], exclude: readme),
        // The exact attention oracle on OpenBLAS: kernels, reductions, energy, file formats, goldens, layouts, the job.
        .target(
            name: "Reference",
            dependencies: [
                "TreeCore", "COpenBLAS", "CKernels", .product(name: "RealModule", package: "swift-numerics"),
            ],
            exclude: readme
        ),
        // The discrete-event cluster simulator (no BLAS).
        .target(
            name: "Simulator",
            dependencies: ["TreeCore", .product(name: "DequeModule", package: "swift-collections")],
            exclude: readme
        ),
        // Studies on the simulator: sweeps, the paper reproduction, the scale study, calibration and validation.
        .target(name: "Studies", dependencies: ["Simulator", "TreeCore"], exclude: readme),
        // The learner's walkthrough (`explain`) and the tour (`demo`) as data and text, on the libraries.
        .target(
            name: "Walkthrough", dependencies: ["Reference", "Simulator", "Studies", "TreeCore"], exclude: readme,
            // The explainer site's static files, compiled into the binary (`PackageResources`): `explain --html`
            // works from any copy of treeattn, with no resource bundle to find.
            resources: ["index.html", "explainer.css", "explainer.js"].map { .embedInCode("Site/" + $0) }
        ),
        // Release-build benchmark harnesses: ratios against baselines measured in the same run.
        .target(
            name: "Benchmarks",
            dependencies: [
                "Reference", "Simulator", "Studies", "CKernels",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            exclude: readme
        ),
        // Tree Attention across MPI ranks: each rank holds a key shard; the reductions run as MPI collectives.
        .target(name: "Distributed", dependencies: ["Reference", "CMPI"], exclude: readme),
        // What both command-line tools share: the attention options, parsing helpers, --max-memory, the error line.
        .target(
            name: "CLICommon",
            dependencies: [
                "Reference", "TreeCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: readme
        ),
        // The options of the simulator's studies both executables take (sweep, scale, the decode workload and overheads).
        .target(
            name: "StudyOptions",
            dependencies: [
                "CLICommon", "Simulator", "Studies", "TreeCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: readme
        ),
        .executableTarget(
            name: "MPICLI",
            dependencies: [
                "Benchmarks", "CLICommon", "Distributed", "Reference", "Studies", "StudyOptions", "TreeCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: readme
        ),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "Benchmarks", "CLICommon", "Reference", "Simulator", "Studies", "StudyOptions", "Walkthrough",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: readme
        ),
        .testTarget(name: "TreeCoreTests", dependencies: ["TreeCore"]),
        .testTarget(
            name: "ReferenceTests",
            dependencies: ["Reference", "TreeCore", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "TreeCore"]),
        .testTarget(name: "StudiesTests", dependencies: ["Studies", "Simulator", "TreeCore"]),
        .testTarget(name: "WalkthroughTests", dependencies: ["Walkthrough", "Reference", "Simulator"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Reference", "TreeCore"]),
        // The executables end to end (run as subprocesses), and the module map against the imports.
        .testTarget(name: "CLITests"),
        .testTarget(name: "ArchitectureTests"),
    ],
    swiftLanguageModes: [.v5]
)
