/// What the roofline needs to know about one rank's device: a GPU, or a CPU rank (an MPI process on CPU cores).
/// Units: bytes/s, FLOP/s, bytes (GB = 1e9 bytes). Sources of the built-in numbers are listed in docs/simulator.md.
public struct GPUSpec: Equatable, Sendable {
    /// What kind of device runs a rank. It changes what the spec's numbers mean (see `memoryBandwidth` and
    /// `peakFlopsPerSecond`) and how outputs name the device; the simulation treats both kinds alike.
    public enum Kind: String, Equatable, Sendable, CaseIterable {
        /// A GPU: HBM bandwidth and the dense BF16 tensor peak (vendor numbers).
        case gpu
        /// A CPU rank: the streaming-read memory bandwidth and GEMM rate one rank measures, in the workload's precision.
        case cpu

        /// What the memory bandwidth is called in outputs: "HBM" (gpu) or "memory" (cpu).
        public var memoryName: String { self == .gpu ? "HBM" : "memory" }
    }

    /// Whether the device is a GPU or a CPU rank (what `memoryBandwidth` and `peakFlopsPerSecond` mean, and how
    /// outputs name it).
    public var kind: Kind
    /// Model name, e.g. "H100-SXM5" (what `named(_:)` matches).
    public var name: String
    /// Memory bandwidth, bytes/s: peak HBM (device memory) bandwidth for a GPU; the measured streaming-read
    /// bandwidth of one rank for a CPU.
    public var memoryBandwidth: Double
    /// The roofline's compute peak, FLOP/s: peak dense BF16 tensor throughput for a GPU (used whatever the
    /// workload's dtype); the measured GEMM rate of one rank in the workload's precision for a CPU.
    public var peakFlopsPerSecond: Double
    /// Device memory capacity, bytes (for a CPU rank: the memory one rank may use).
    public var memoryBytes: Double

    /// The compute peak under its GPU name (`peakFlopsPerSecond`).
    @available(*, deprecated, renamed: "peakFlopsPerSecond")
    public var bf16FlopsPerSecond: Double {
        get { peakFlopsPerSecond }
        set { peakFlopsPerSecond = newValue }
    }

    /// A device of either kind; every number must be finite and > 0.
    public init(kind: Kind, name: String, memoryBandwidth: Double, peakFlopsPerSecond: Double, memoryBytes: Double)
        throws
    {
        let flopsName = kind == .gpu ? "BF16 FLOP/s" : "GEMM FLOP/s"
        for (value, what) in [
            (memoryBandwidth, "\(kind.memoryName) bandwidth"), (peakFlopsPerSecond, flopsName), (memoryBytes, "memory"),
        ] {
            guard value.isFinite, value > 0 else {
                throw SimulatorError.cluster(
                    "\(kind.rawValue.uppercased()) '\(name)': \(what) must be > 0, got \(value)")
            }
        }
        self.kind = kind
        self.name = name
        self.memoryBandwidth = memoryBandwidth
        self.peakFlopsPerSecond = peakFlopsPerSecond
        self.memoryBytes = memoryBytes
    }

    /// A GPU.
    public init(name: String, memoryBandwidth: Double, bf16FlopsPerSecond: Double, memoryBytes: Double) throws {
        try self.init(
            kind: .gpu, name: name, memoryBandwidth: memoryBandwidth, peakFlopsPerSecond: bf16FlopsPerSecond,
            memoryBytes: memoryBytes)
    }

    /// A CPU rank: `memoryBandwidth` its streaming-read bandwidth, `gemmFlopsPerSecond` its GEMM rate in the
    /// workload's precision, `memoryBytes` the memory it may use.
    public static func cpu(name: String, memoryBandwidth: Double, gemmFlopsPerSecond: Double, memoryBytes: Double)
        throws -> GPUSpec
    {
        try GPUSpec(
            kind: .cpu, name: name, memoryBandwidth: memoryBandwidth, peakFlopsPerSecond: gemmFlopsPerSecond,
            memoryBytes: memoryBytes)
    }

    private init(uncheckedName name: String, memoryBandwidth: Double, flops: Double, memory: Double) {
        kind = .gpu
        self.name = name
        self.memoryBandwidth = memoryBandwidth
        peakFlopsPerSecond = flops
        memoryBytes = memory
    }

    /// The device as outputs name it: the GPU's name, or "NAME (cpu)" for a CPU rank.
    public var label: String { kind == .gpu ? name : "\(name) (cpu)" }

    /// NVIDIA H100 SXM5: 80 GB HBM3 at 3.35 TB/s, 989 TFLOP/s dense BF16.
    public static let h100SXM5 = GPUSpec(
        uncheckedName: "H100-SXM5", memoryBandwidth: 3.35e12, flops: 989e12, memory: 80e9)
    /// NVIDIA A100 SXM4 80 GB: HBM2e at 2.039 TB/s, 312 TFLOP/s dense BF16.
    public static let a100SXM4 = GPUSpec(
        uncheckedName: "A100-SXM4-80GB", memoryBandwidth: 2.039e12, flops: 312e12, memory: 80e9)
    /// NVIDIA H200 SXM: 141 GB HBM3e at 4.8 TB/s, 989 TFLOP/s dense BF16 (the H100's Hopper compute).
    public static let h200SXM = GPUSpec(
        uncheckedName: "H200-SXM", memoryBandwidth: 4.8e12, flops: 989e12, memory: 141e9)
    /// NVIDIA B200 (HGX/DGX B200, 1,000 W): 180 GB HBM3e at 8 TB/s, 2,250 TFLOP/s dense BF16.
    public static let b200 = GPUSpec(uncheckedName: "B200", memoryBandwidth: 8e12, flops: 2250e12, memory: 180e9)
    /// NVIDIA Blackwell in a GB200 superchip (1,200 W): 186 GB HBM3e at 8 TB/s, 2,500 TFLOP/s dense BF16.
    public static let gb200 = GPUSpec(uncheckedName: "GB200", memoryBandwidth: 8e12, flops: 2500e12, memory: 186e9)
    /// AMD Instinct MI300X: 192 GB HBM3 at 5.3 TB/s, 1307 TFLOP/s dense BF16.
    public static let mi300x = GPUSpec(
        uncheckedName: "MI300X", memoryBandwidth: 5.3e12, flops: 1307.4e12, memory: 192e9)
    /// NVIDIA GeForce RTX 4090: 24 GB GDDR6X at 1008 GB/s, 165 TFLOP/s dense BF16 (FP32 accumulate).
    public static let rtx4090 = GPUSpec(
        uncheckedName: "RTX-4090", memoryBandwidth: 1008e9, flops: 165.2e12, memory: 24e9)

    /// Built-in models by name.
    public static let known: [GPUSpec] = [.a100SXM4, .h100SXM5, .h200SXM, .b200, .gb200, .mi300x, .rtx4090]

    /// The built-in spec (`known`) whose name is `name`, ignoring case. Throws `SimulatorError.cluster` for an
    /// unknown name.
    public static func named(_ name: String) throws -> GPUSpec {
        guard let spec = known.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw SimulatorError.cluster(
                "unknown GPU model '\(name)' (known: \(known.map(\.name).joined(separator: ", ")))")
        }
        return spec
    }
}
