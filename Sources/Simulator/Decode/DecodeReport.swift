/// Everything reported for one decode strategy. Times are per decode step; breakdowns are means over the
/// participating devices and add up to the latency.
public struct DecodeReport: Sendable {
    public var strategy: String
    public var gpus: Int
    public var latency: SimTime
    /// Mean time a device spends in local kernels.
    public var compute: SimTime
    /// Mean time a device has a transfer in flight (or modelled communication) while not computing.
    public var communication: SimTime
    /// Mean time in fixed overheads (launch, call) not already counted above.
    public var overhead: SimTime
    /// The rest: waiting.
    public var idle: SimTime
    public var bytesPerLinkClass: [(name: String, bytes: Double)]
    /// Mean elements sent per device (partial elements, fp32 or f64, for tree/pass-partials/gather, K/V elements for ring).
    public var elementsSentPerDevice: Double
    /// The paper's formula (V_tree = 2(p-1)/p (b d + 2 b n_h), V_ring = 2 b t d p), nil for other strategies.
    public var paperVolumeElements: Double?
    /// Peak memory per device for attention buffers, elements (the strategy's own accounting).
    public var peakMemoryElements: Double
    /// The same in bytes: K/V, q and output in the model dtype, partials in fp32 (f64 for f64 workloads).
    public var peakMemoryBytes: Double
    /// The paper's peak-memory formula (ring 4btd + 2bd, tree 2btd + 2bd + 2b n_h), nil for others.
    public var paperPeakMemoryElements: Double?
    /// peakMemoryBytes <= GPU memory.
    public var fitsInMemory: Bool
    /// Latency of the ring baseline divided by this latency (nil if the baseline was not run).
    public var speedupVsRing: Double?
    public var events: Int
    public var messages: Int
    public var notes: [String]
    /// The underlying recorded execution (for traces).
    public var execution: ExecutionResult?
}
