import Foundation
import Reference

/// The machine a benchmark ran on, so results can be compared across machines: the CPU, OpenBLAS's core and threads,
/// the kernels' instruction set, the OpenBLAS environment variables as set, and whether the build is optimised.
public struct BenchMachine: Codable, Sendable {
    /// The CPU model ("unknown" when it cannot be read).
    public var cpu: String
    /// The cores available to this process (`ProcessInfo.activeProcessorCount`).
    public var cores: Int
    /// OpenBLAS's core (its kernels' target), e.g. "Haswell", "Zen".
    public var blasCore: String
    /// OpenBLAS's build configuration string (version, threading, core).
    public var blasConfig: String
    /// The number of threads OpenBLAS runs with.
    public var blasThreads: Int
    /// The instruction set of the element-wise kernels in use (a `KernelISA` raw value).
    public var kernelISA: String
    /// The best kernel instruction set this CPU supports (a `KernelISA` raw value).
    public var kernelISASupported: String
    /// OPENBLAS_CORETYPE as set in the environment ("unset" otherwise).
    public var openblasCoretype: String
    /// OPENBLAS_L2_SIZE as set in the environment ("unset" otherwise).
    public var openblasL2Size: String
    /// Whether this is a release (optimised) build.
    public var release: Bool

    /// This machine, with the kernels running `isa`.
    public static func current(isa: KernelISA) -> BenchMachine {
        let env = ProcessInfo.processInfo.environment
        #if DEBUG
        let release = false
        #else
        let release = true
        #endif
        return BenchMachine(
            cpu: HostMachine.cpuModel ?? "unknown", cores: ProcessInfo.processInfo.activeProcessorCount,
            blasCore: BLASThreads.coreName, blasConfig: BLASThreads.configuration, blasThreads: BLASThreads.count,
            kernelISA: isa.rawValue, kernelISASupported: KernelISA.supported.rawValue,
            openblasCoretype: env["OPENBLAS_CORETYPE"] ?? "unset", openblasL2Size: env["OPENBLAS_L2_SIZE"] ?? "unset",
            release: release)
    }

    /// The machine as one line of text.
    public var textLine: String {
        "CPU \(cpu), \(cores) cores; OpenBLAS core \(blasCore), \(blasThreads) threads (OPENBLAS_CORETYPE \(openblasCoretype), "
            + "OPENBLAS_L2_SIZE \(openblasL2Size)); kernel instruction set \(kernelISA) (CPU supports \(kernelISASupported))"
    }
}
