/// Every modelling knob of the decode simulation, as explicit named parameters. The defaults are idealised:
/// no launch, call or per-message overheads, 100% of peak HBM bandwidth and FLOP/s.
public struct DecodeOptions: Equatable, Sendable {
    /// Fixed cost of every local kernel (flash-decode, merge, rescale).
    public var kernelLaunch: SimTime = .zero
    /// Fixed cost of every collective call (dispatch and synchronisation), on every rank.
    public var collectiveCall: SimTime = .zero
    /// Software overhead per point-to-point message before it enters the network.
    public var perMessage: SimTime = .zero
    /// Fraction of peak HBM bandwidth achieved by local kernels.
    public var memoryEfficiency: Double = 1
    /// Fraction of peak FLOP/s achieved by local kernels.
    public var computeEfficiency: Double = 1
    /// Ring Attention sends K/V expanded to n_h heads (as the paper's PyTorch code does, GQA repeat factor times the
    /// bytes) instead of the n_kv heads actually stored.
    public var ringSendsExpandedKV: Bool = true
    /// Options of the collectives used by `tree` (reduction cost, segmentation, pacing).
    public var collective: CollectiveOptions = CollectiveOptions()
    /// The decode kernel's measured time by K/V bytes (a calibrated cluster file's `decode_kernel:`), which replaces
    /// the roofline for flash-decode; nil (default) for the roofline.
    public var decodeKernel: KernelCurve? = nil
    /// How K/V rings are simulated (`RingSimulation`).
    public var ringSimulation: RingSimulation = .auto

    /// The idealised defaults: no overheads, 100% efficiencies, expanded K/V on the ring, default collective options
    /// and `RingSimulation.auto`.
    public init() {}

    /// The roofline of `gpu` with these efficiencies, kernel launch cost and decode kernel curve. Throws
    /// `SimulatorError.invalidArgument` when an efficiency is outside (0, 1].
    public func roofline(gpu: GPUSpec) throws -> Roofline {
        var roofline = try Roofline(
            gpu: gpu, memoryEfficiency: memoryEfficiency, computeEfficiency: computeEfficiency,
            kernelLaunch: kernelLaunch)
        roofline.decodeKernel = decodeKernel
        return roofline
    }
}

/// How the K/V rings of `ring`, `ring-sequential` and `ring-sendrecv` are simulated (forward, and the gradient ring of
/// the backward and training steps). A ring over p
/// GPUs sends p(p-1) messages: 4.3e9 at 65,536 GPUs, about 40 minutes of events on a 2-core machine.
public enum RingSimulation: String, Sendable, CaseIterable {
    /// Every step up to `exactMessages` hops x ranks, extrapolated beyond (the same as before for p <= 4096); gives
    /// up on extrapolating (and simulates every step) if the windows disagree up to a quarter of the ring.
    case auto
    /// Every step of every ring, however long.
    case exact
    /// `StepExtrapolation` whenever the ring is long enough to gain (h mod 16 + 48 < h steps); exact otherwise.
    case extrapolate

    /// The most hops x ranks `auto` simulates exactly: 2^24, a forward ring over 4,096 GPUs (its messages).
    public static let exactMessages = 1 << 24

    /// Whether a ring of `steps` steps over `ranks` ranks is extrapolated.
    public func extrapolates(steps: Int, ranks: Int) -> Bool {
        switch self {
        case .exact: return false
        case .extrapolate: return true
        case .auto:
            let (messages, overflow) = steps.multipliedReportingOverflow(by: ranks)
            return overflow || messages > Self.exactMessages
        }
    }
}

extension DecodeOptions {
    /// The options a cluster calls for: the idealised defaults with the cluster file's calibrated `overheads:`
    /// (`Cluster.overheads`, `ClusterOverheads.apply(to:)`) set on them; without them, `DecodeOptions()`.
    ///
    ///     let cluster = try Cluster.resolve("this-machine.yaml")
    ///     let model = try DecodeModel(cluster: cluster, workload: w, options: DecodeOptions(cluster: cluster))
    public init(cluster: Cluster) {
        self.init()
        cluster.overheads?.apply(to: &self)
    }
}
