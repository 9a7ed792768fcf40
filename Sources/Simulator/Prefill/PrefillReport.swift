/// One prefill strategy's simulated layer (`PrefillModel.run`): latency and its breakdown, bytes sent, the causal
/// work per device and its imbalance, and peak memory.
public struct PrefillReport: Sendable {
    /// The strategy's name (`PrefillStrategy.description`).
    public var strategy: String
    /// GPUs it ran on.
    public var gpus: Int
    /// Makespan of the layer's attention over all ranks.
    public var latency: SimTime
    /// Compute, communication and idle time summed over ranks, divided by the ranks (`ActivityBreakdown`).
    public var compute: SimTime
    /// See `compute`.
    public var communication: SimTime
    /// See `compute`.
    public var idle: SimTime
    /// Bytes sent per device (mean over devices).
    public var bytesSentPerDevice: Double
    /// Bytes sent by the device that sends most.
    public var maxBytesSentPerDevice: Double
    /// Visible (query, key) pairs per sequence over all devices: n(n+1)/2 causal, n^2 without the mask.
    public var visiblePairs: Int
    /// Visible pairs computed by the busiest device.
    public var maxVisiblePairsPerDevice: Int
    /// The busiest device's pairs over the mean (1: perfectly balanced).
    public var imbalance: Double
    /// Attention buffers on the busiest device (`PrefillProgram.peakMemoryBytes`).
    public var peakMemoryBytes: Double
    /// Whether they fit the device's memory.
    public var fitsInMemory: Bool
    /// The contiguous ring's latency over this one's, when the ring was among the strategies.
    public var speedupVsRing: Double?
    /// Events and messages of the simulation.
    public var events: Int
    /// See `events`.
    public var messages: Int
    /// What the strategy assumed (placement, what travels, what is not simulated).
    public var notes: [String]
    /// Every transfer and interval, when run with `recording` (for a trace).
    public var execution: ExecutionResult?
}
