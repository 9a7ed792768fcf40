/// Local compute time from a roofline: launch + max(bytes / (HBM bandwidth * eta_mem), FLOPs / (peak * eta_c)).
public struct Roofline: Equatable, Sendable {
    public var gpu: GPUSpec
    /// Fraction of peak HBM bandwidth achieved (1 = idealised).
    public var memoryEfficiency: Double
    /// Fraction of peak BF16 FLOP/s achieved (1 = idealised).
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
        let compute = flops / (gpu.bf16FlopsPerSecond * computeEfficiency)
        return kernelLaunch + .seconds(max(memory, compute))
    }

    /// Flash-decoding over `tokens` keys: reads K and V (native n_kv heads) and q, writes the fp32 partial;
    /// 4 b n_h t d_h FLOPs (QK^T and PV). Zero tokens cost nothing.
    public func flashDecode(tokens: Int, _ w: DecodeWorkload) -> SimTime {
        guard tokens > 0 else { return .zero }
        let bytes = w.kvElements(tokens: tokens) * Double(w.elementBytes)
            + Double(w.batch * w.modelDim * w.elementBytes) + w.partialElements * Double(w.partialElementBytes)
        let flops = 4 * Double(w.batch * w.heads * tokens * w.headDim)
        return time(bytes: bytes, flops: flops)
    }

    /// Merging `count` fp32 partials into one (read count, write one; ~5 FLOPs per element each).
    public func merge(partials count: Int, _ w: DecodeWorkload) -> SimTime {
        guard count > 1 else { return .zero }
        let elements = w.partialElements
        return time(bytes: Double(count + 1) * elements * Double(w.partialElementBytes), flops: 5 * Double(count) * elements)
    }

    /// An elementwise pass over `elements` fp32 values (rescale, divide).
    public func elementwise(_ elements: Double) -> SimTime {
        time(bytes: 2 * elements * 4, flops: 2 * elements)
    }
}
