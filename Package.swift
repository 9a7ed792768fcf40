// swift-tools-version:6.0
import PackageDescription

// One concern per target; the dependency arrows point one way (no unsafe flags, so other packages can depend on the
// libraries by version):
//
//   TreeCore (no BLAS)  <-  Reference (+ OpenBLAS, CKernels)  <-  Distributed (+ Open MPI)  <-  MPICLI (treeattn-mpi)
//                       <-  Simulator (no BLAS)  <-  Studies                         <-  CLI (treeattn)
//   CLICommon (the attention options, tensor files, the one error line) sits under both executables; only
//   Distributed and treeattn-mpi link Open MPI, so treeattn builds and runs without MPI being started.

let package = Package(
    name: "TreeAttention",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TreeCore", targets: ["TreeCore"]),
        .library(name: "Reference", targets: ["Reference"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        .library(name: "Studies", targets: ["Studies"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .executable(name: "treeattn", targets: ["CLI"]),
        .executable(name: "treeattn-mpi", targets: ["MPICLI"]),
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
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["openmpi-bin", "libopenmpi-dev"])]
        ),
        // The softmax's element-wise passes in C: AVX2+FMA chosen at run time, a portable baseline otherwise.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // The BLAS-free core shared by both libraries: shard layouts, reduction plans, atomic files.
        .target(name: "TreeCore", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(
            name: "Reference",
            dependencies: [
                "TreeCore",
                "COpenBLAS",
                "CKernels",
                .product(name: "Numerics", package: "swift-numerics"),
            ]
        ),
        .target(
            name: "Simulator",
            dependencies: [
                "TreeCore",
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        // Sweeps, the paper reproduction, plots and calibration: studies built on the simulator.
        .target(name: "Studies", dependencies: ["Simulator", "TreeCore"]),
        // Tree Attention across MPI ranks: each rank holds a key shard; the reductions run as MPI collectives.
        .target(name: "Distributed", dependencies: ["Reference", "TreeCore", "CMPI"]),
        // What both command-line tools share: attention options, tensor files, memory options, the error line.
        .target(
            name: "CLICommon",
            dependencies: ["Reference", "Simulator", "TreeCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "MPICLI",
            dependencies: [
                "CLICommon", "Distributed", "Reference", "Simulator", "Studies", "TreeCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "CLICommon",
                "TreeCore",
                "Reference",
                "Simulator",
                "Studies",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ReferenceTests",
            dependencies: ["Reference", "TreeCore", .product(name: "Numerics", package: "swift-numerics")]
        ),
        .testTarget(name: "CLITests"),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["Simulator", "TreeCore"]
        ),
        .testTarget(name: "StudiesTests", dependencies: ["Studies", "Simulator"]),
    ],
    swiftLanguageModes: [.v5]
)
