/// What the roofline needs to know about one GPU. Units: bytes/s, FLOP/s, bytes (GB = 1e9 bytes).
/// Sources of the built-in numbers are listed in docs/simulator.md.
public struct GPUSpec: Equatable, Sendable {
    public var name: String
    /// Peak HBM (device memory) bandwidth, bytes/s.
    public var memoryBandwidth: Double
    /// Peak dense BF16 tensor throughput, FLOP/s.
    public var bf16FlopsPerSecond: Double
    /// Device memory capacity, bytes.
    public var memoryBytes: Double

    public init(name: String, memoryBandwidth: Double, bf16FlopsPerSecond: Double, memoryBytes: Double) throws {
        for (value, what) in [(memoryBandwidth, "HBM bandwidth"), (bf16FlopsPerSecond, "BF16 FLOP/s"), (memoryBytes, "memory")] {
            guard value.isFinite, value > 0 else { throw SimulatorError.cluster("GPU '\(name)': \(what) must be > 0, got \(value)") }
        }
        self.name = name
        self.memoryBandwidth = memoryBandwidth
        self.bf16FlopsPerSecond = bf16FlopsPerSecond
        self.memoryBytes = memoryBytes
    }

    private init(uncheckedName name: String, memoryBandwidth: Double, flops: Double, memory: Double) {
        self.name = name
        self.memoryBandwidth = memoryBandwidth
        bf16FlopsPerSecond = flops
        memoryBytes = memory
    }

    /// NVIDIA H100 SXM5: 80 GB HBM3 at 3.35 TB/s, 989 TFLOP/s dense BF16.
    public static let h100SXM5 = GPUSpec(uncheckedName: "H100-SXM5", memoryBandwidth: 3.35e12, flops: 989e12, memory: 80e9)
    /// AMD Instinct MI300X: 192 GB HBM3 at 5.3 TB/s, 1307 TFLOP/s dense BF16.
    public static let mi300x = GPUSpec(uncheckedName: "MI300X", memoryBandwidth: 5.3e12, flops: 1307.4e12, memory: 192e9)
    /// NVIDIA GeForce RTX 4090: 24 GB GDDR6X at 1008 GB/s, 165 TFLOP/s dense BF16 (FP32 accumulate).
    public static let rtx4090 = GPUSpec(uncheckedName: "RTX-4090", memoryBandwidth: 1008e9, flops: 165.2e12, memory: 24e9)

    /// Built-in models by name.
    public static let known: [GPUSpec] = [.h100SXM5, .mi300x, .rtx4090]

    public static func named(_ name: String) throws -> GPUSpec {
        guard let spec = known.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw SimulatorError.cluster("unknown GPU model '\(name)' (known: \(known.map(\.name).joined(separator: ", ")))")
        }
        return spec
    }
}
