/// Everything reported for one decode strategy. Times are per simulated step (`step`: a decode forward unless a
/// backward or training step was asked for); breakdowns are means over the participating devices and add up to the
/// latency. Volumes (`elementsSentPerDevice`, `paperVolumeElements`) are always the forward's; a step with a backward
/// states the backward's next to them.
public struct DecodeReport: Sendable {
    /// The strategy's name, as `DecodeStrategy.description` gives it (e.g. "tree", "ring-sequential").
    public var strategy: String
    /// GPUs the strategy ran on (1 for `single`).
    public var gpus: Int
    /// The step simulated: `latency`, the breakdown, events, messages and peak memory are this step's.
    public var step: DecodeStep = .forward
    /// Simulated time of the whole step, from the first operation to the last rank's completion.
    public var latency: SimTime
    /// Mean time a device spends in local kernels.
    public var compute: SimTime
    /// Mean time a device has a transfer in flight (or modelled communication) while not computing.
    public var communication: SimTime
    /// Mean time in fixed overheads (launch, call) not already counted above.
    public var overhead: SimTime
    /// The rest: waiting.
    public var idle: SimTime
    /// Bytes carried per link class during the step, in class order (a message crossing h links of a class
    /// counts h times).
    public var bytesPerLinkClass: [(name: String, bytes: Double)]
    /// Mean elements sent per device by the forward (partial elements, fp32 or f64, for tree/pass-partials/gather,
    /// K/V elements for ring), whatever the step.
    public var elementsSentPerDevice: Double
    /// The paper's formula (V_tree = 2(p-1)/p (b d + 2 b n_h), V_ring = 2 b t d p), nil for other strategies.
    public var paperVolumeElements: Double?
    /// Peak memory per device for attention buffers, elements (the strategy's own accounting; with the gradients'
    /// buffers in a backward or training step).
    public var peakMemoryElements: Double
    /// The same in bytes: K/V, q and output in the model dtype, partials in fp32 (f64 for f64 workloads).
    public var peakMemoryBytes: Double
    /// The paper's peak-memory formula (ring 4btd + 2bd, tree 2btd + 2bd + 2b n_h), nil for others and for steps with
    /// a backward (the paper has no backward formula).
    public var paperPeakMemoryElements: Double?
    /// peakMemoryBytes <= GPU memory.
    public var fitsInMemory: Bool
    /// Latency of the ring baseline divided by this latency (nil if the baseline was not run).
    public var speedupVsRing: Double?
    /// Events the simulation handled (with an extrapolated K/V ring, those of the prefixes actually simulated).
    public var events: Int
    /// Point-to-point messages sent during the step.
    public var messages: Int
    /// Remarks on how the numbers were obtained (extrapolation, NCCL model, memory, f64 on a GPU), one line each.
    public var notes: [String]
    /// Backward and training steps: the forward alone and the backward alone, each simulated on its own (nil for a
    /// forward step).
    public var forwardLatency: SimTime? = nil
    /// Backward and training steps: the backward alone, simulated on its own (nil for a forward step).
    public var backwardLatency: SimTime? = nil
    /// Backward and training steps: mean elements sent per device by the backward alone (partial elements for tree,
    /// K/V and dK/dV elements for ring); nil for a forward step.
    public var backwardElementsSentPerDevice: Double? = nil
    /// Backward and training steps: the backward's paper-style volume (tree 2(p-1)/p (b d + b n_h), ring
    /// 2 V_ring = 4 b t d p), nil for other strategies or a forward step.
    public var paperBackwardVolumeElements: Double? = nil
    /// The underlying recorded execution (for traces).
    public var execution: ExecutionResult?
}
