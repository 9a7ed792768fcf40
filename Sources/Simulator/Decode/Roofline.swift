/// Local compute time from a roofline: launch + max(bytes / (memory bandwidth * eta_mem), FLOPs / (peak * eta_c)),
/// with the device's memory bandwidth and compute peak (`GPUSpec`: HBM and BF16 peak for a GPU, measured streaming
/// bandwidth and GEMM rate for a CPU rank).
public struct Roofline: Equatable, Sendable {
    public var gpu: GPUSpec
    /// Fraction of the device's memory bandwidth achieved (1 = idealised).
    public var memoryEfficiency: Double
    /// Fraction of the device's compute peak achieved (1 = idealised).
    public var computeEfficiency: Double
    /// Fixed cost per kernel (0 = idealised; 3-5 us is typical).
    public var kernelLaunch: SimTime

    public init(gpu: GPUSpec, memoryEfficiency: Double = 1, computeEfficiency: Double = 1, kernelLaunch: SimTime = .zero) throws {
        guard memoryEfficiency > 0 && memoryEfficiency <= 1, computeEfficiency > 0 && computeEfficiency <= 1 else {
            throw SimulatorError.invalidArgument("efficiencies must be in (0, 1], got \(memoryEfficiency), \(computeEfficiency)")
        }
        self.gpu = gpu
        self.memoryEfficiency = memoryEfficiency
        self.computeEfficiency = computeEfficiency
        self.kernelLaunch = kernelLaunch
    }

    public func time(bytes: Double, flops: Double) -> SimTime {
        let memory = bytes / (gpu.memoryBandwidth * memoryEfficiency)
        let compute = flops / (gpu.peakFlopsPerSecond * computeEfficiency)
        return kernelLaunch + .seconds(max(memory, compute))
    }

    /// Flash-decoding over `tokens` keys: reads K and V (native n_kv heads) and q, writes the partial
    /// (`partialElementBytes` per element);
    /// 4 b n_h t d_h FLOPs (QK^T and PV). Zero tokens cost nothing.
    public func flashDecode(tokens: Int, _ w: DecodeWorkload) -> SimTime {
        guard tokens > 0 else { return .zero }
        let bytes = w.kvElements(tokens: tokens) * Double(w.elementBytes)
            + Double(w.batch * w.modelDim * w.elementBytes) + w.partialElements * Double(w.partialElementBytes)
        let flops = 4 * Double(w.batch * w.heads * tokens * w.headDim)
        return time(bytes: bytes, flops: flops)
    }

    /// Merging `count` partials into one (read count, write one; ~5 FLOPs per element each).
    public func merge(partials count: Int, _ w: DecodeWorkload) -> SimTime {
        guard count > 1 else { return .zero }
        let elements = w.partialElements
        return time(bytes: Double(count + 1) * elements * Double(w.partialElementBytes), flops: 5 * Double(count) * elements)
    }

    /// An elementwise pass over `elements` values of `elementBytes` bytes each, read and written (rescale, divide
    /// of the partials: fp32, or f64 for f64 workloads).
    public func elementwise(_ elements: Double, elementBytes: Int = 4) -> SimTime {
        time(bytes: 2 * elements * Double(elementBytes), flops: 2 * elements)
    }
}
