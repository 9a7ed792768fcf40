/// Local compute time from a roofline: launch + max(bytes / (memory bandwidth * eta_mem), FLOPs / (peak * eta_c)),
/// with the device's memory bandwidth and compute peak (`GPUSpec`: HBM and BF16 peak for a GPU, measured streaming
/// bandwidth and GEMM rate for a CPU rank).
public struct Roofline: Equatable, Sendable {
    /// The device whose memory bandwidth and compute peak bound the kernels.
    public var gpu: GPUSpec
    /// Fraction of the device's memory bandwidth achieved (1 = idealised).
    public var memoryEfficiency: Double
    /// Fraction of the device's compute peak achieved (1 = idealised).
    public var computeEfficiency: Double
    /// Fixed cost per kernel (0 = idealised; 3-5 us is typical).
    public var kernelLaunch: SimTime
    /// The decode kernel's measured time by K/V bytes (a calibrated cluster's `overheads: decode_kernel:`): when set,
    /// `flashDecode` takes its time from it instead of from the roofline; nil for the roofline.
    public var decodeKernel: KernelCurve? = nil

    /// A roofline for `gpu` with the given efficiencies and launch cost (idealised by default). Throws
    /// `SimulatorError.invalidArgument` unless both efficiencies are in (0, 1].
    public init(
        gpu: GPUSpec, memoryEfficiency: Double = 1, computeEfficiency: Double = 1, kernelLaunch: SimTime = .zero
    ) throws {
        guard memoryEfficiency > 0 && memoryEfficiency <= 1, computeEfficiency > 0 && computeEfficiency <= 1 else {
            throw SimulatorError.invalidArgument(
                "efficiencies must be in (0, 1], got \(memoryEfficiency), \(computeEfficiency)")
        }
        self.gpu = gpu
        self.memoryEfficiency = memoryEfficiency
        self.computeEfficiency = computeEfficiency
        self.kernelLaunch = kernelLaunch
    }

    /// Time of one kernel that moves `bytes` bytes and does `flops` FLOPs: `kernelLaunch` plus the longer of the
    /// memory time and the compute time at the derated peaks.
    public func time(bytes: Double, flops: Double) -> SimTime {
        let memory = bytes / (gpu.memoryBandwidth * memoryEfficiency)
        let compute = flops / (gpu.peakFlopsPerSecond * computeEfficiency)
        return kernelLaunch + .seconds(max(memory, compute))
    }

    /// Flash-decoding over `tokens` keys: reads K and V (native n_kv heads) and q, writes the partial
    /// (`partialElementBytes` per element);
    /// 2 b n_h t (d_h + d_v) FLOPs (QK^T and PV; 4 b n_h t d_h when d_v = d_h). Zero tokens cost nothing. With a
    /// measured `decodeKernel` curve, its time for the K/V bytes instead.
    public func flashDecode(tokens: Int, _ w: DecodeWorkload) -> SimTime {
        guard tokens > 0 else { return .zero }
        if let curve = decodeKernel { return curve.time(bytes: w.kvElements(tokens: tokens) * Double(w.elementBytes)) }
        let bytes =
            w.kvElements(tokens: tokens) * Double(w.elementBytes)
            + Double(w.batch * w.modelDim * w.elementBytes) + w.partialElements * Double(w.partialElementBytes)
        let flops = 2 * Double(w.batch * w.heads * tokens * (w.headDim + w.valueDim))
        return time(bytes: bytes, flops: flops)
    }

    /// The attention backward over `tokens` keys for one query row per sequence (FlashAttention's backward kernel,
    /// given the forward's log-sum-exp and D = rowsum(dO o O)): reads K and V (native n_kv heads, model dtype) and
    /// writes dK and dV (the same size), reads q and dO (b d, model dtype) and LSE and D (b n_h each), writes the
    /// rank's share of dQ (b d); bytes 2 (2 b t n_kv d_h) e + 2 b d e + (2 b n_h + b d) e_p (e the model's element
    /// size, e_p the partials'). FLOPs 10 b n_h t d_h: five matmul-like passes (recompute S = q K^T, dV = P^T dO,
    /// dP = dO V^T, dQ = dS K, dK = dS^T q) against flash-decode's two, 2.5x its 4 b n_h t d_h. Zero tokens cost
    /// nothing.
    public func flashBackward(tokens: Int, _ w: DecodeWorkload) -> SimTime {
        guard tokens > 0 else { return .zero }
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        // q (b d) and dO (b n_h d_v) in the model dtype; dQ (b d) and LSE, D (b n_h each) in partial precision.
        let bytes =
            2 * w.kvElements(tokens: tokens) * Double(w.elementBytes) + b * (d + dOut) * Double(w.elementBytes)
            + (2 * b * nh + b * d) * Double(w.partialElementBytes)
        // S = q K^T, dQ = dS K and dK = dS^T q over d_h; dV = P^T dO and dP = dO V^T over d_v.
        let flops = 2 * b * nh * Double(tokens) * Double(3 * w.headDim + 2 * w.valueDim)
        return time(bytes: bytes, flops: flops)
    }

    /// FlashAttention's backward preprocessing D = rowsum(dO o O): reads dO (b d, model dtype) and O (b d, partial
    /// precision), writes D (b n_h, partial precision); 2 b d FLOPs.
    public func backwardPreprocess(_ w: DecodeWorkload) -> SimTime {
        let b = Double(w.batch), d = Double(w.outputDim), nh = Double(w.heads)
        return time(
            bytes: b * d * Double(w.elementBytes) + (b * d + b * nh) * Double(w.partialElementBytes), flops: 2 * b * d)
    }

    /// Adding one buffer of `elements` values into another (the ring's dK/dV accumulators): reads two, writes one;
    /// one FLOP per element.
    public func accumulate(_ elements: Double, elementBytes: Int) -> SimTime {
        time(bytes: 3 * elements * Double(elementBytes), flops: elements)
    }

    /// Merging `count` partials into one (read count, write one; ~5 FLOPs per element each).
    public func merge(partials count: Int, _ w: DecodeWorkload) -> SimTime {
        guard count > 1 else { return .zero }
        let elements = w.partialElements
        return time(
            bytes: Double(count + 1) * elements * Double(w.partialElementBytes), flops: 5 * Double(count) * elements)
    }

    /// An elementwise pass over `elements` values of `elementBytes` bytes each, read and written (rescale, divide
    /// of the partials: fp32, or f64 for f64 workloads).
    public func elementwise(_ elements: Double, elementBytes: Int = 4) -> SimTime {
        time(bytes: 2 * elements * Double(elementBytes), flops: 2 * elements)
    }
}
