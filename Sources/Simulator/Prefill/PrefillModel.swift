import TreeCore

/// The context-parallel prefill model: one layer's causal attention over a prompt of n tokens on the first `gpus`
/// GPUs of a cluster, with each `PrefillStrategy` (ring, zigzag, striped, all-gather, pass-q). The library entry point
/// of `simulate prefill`:
///
///     let model = try PrefillModel(cluster: try Cluster.resolve("dgx-h100"), workload: w)
///     let reports = try model.compare([.ring, .zigzag, .allGather])
///
/// The workload is a `DecodeWorkload` read as a prefill: `sequenceLength` is n, every token a query and a key.
public struct PrefillModel: Sendable {
    /// The cluster the strategies run on.
    public var cluster: Cluster
    /// The attention shape: n = `sequenceLength`, batch, heads, head dimensions and dtype.
    public var workload: DecodeWorkload
    /// Efficiencies, kernel launch, per-message overhead and collective options (the decode model's knobs).
    public var options: DecodeOptions
    /// Whether the attention is causal (the default) or every query sees every key.
    public var causal: Bool

    /// The most tokens a prefill takes: 2^30 (its visible-pair counts, up to n^2, stay exact in 64-bit integers).
    public static let maxTokens = 1 << 30

    /// `gpus` nil uses every GPU of the cluster. Throws `SimulatorError.unsupported` for a latent (MLA) K/V cache,
    /// which prefill does not use (MLA's prefill runs its naive form: give the per-head shape), and
    /// `SimulatorError.invalidArgument` for fewer tokens than GPUs, more than `maxTokens` or a bad efficiency.
    public init(
        cluster: Cluster, workload: DecodeWorkload, options: DecodeOptions = DecodeOptions(), gpus: Int? = nil,
        causal: Bool = true
    ) throws {
        guard !workload.latentKV else {
            throw SimulatorError.unsupported(
                "prefill with a latent K/V cache: MLA's prefill runs its naive form (per-head K and V); give --heads, --kv-heads, --head-dim and --value-dim instead of --latent-kv"
            )
        }
        guard workload.sequenceLength <= Self.maxTokens else {
            throw SimulatorError.invalidArgument(
                "a prefill takes at most \(Self.maxTokens) tokens (2^30), got \(workload.sequenceLength)")
        }
        self.cluster = try gpus.map { try cluster.prefix($0) } ?? cluster
        guard workload.sequenceLength >= self.cluster.gpuCount else {
            throw SimulatorError.invalidArgument(
                "a prefill of \(workload.sequenceLength) tokens cannot give each of \(self.cluster.gpuCount) GPUs a token"
            )
        }
        self.workload = workload
        self.options = options
        self.causal = causal
        _ = try roofline()
    }

    /// Number of GPUs the model uses.
    public var gpus: Int { cluster.gpuCount }

    /// The roofline of the cluster's device with the options' efficiencies and kernel launch cost.
    public func roofline() throws -> Roofline { try options.roofline(gpu: cluster.gpu) }

    /// Runs every strategy; speedups are against `ring` when it is among them.
    public func compare(_ strategies: [PrefillStrategy], recording: Bool = false, progress: Progress? = nil) throws
        -> [PrefillReport]
    {
        var reports = try strategies.map { try run($0, recording: recording, progress: progress) }
        if let ring = zip(strategies, reports).first(where: { $0.0 == .ring })?.1.latency {
            for i in reports.indices where reports[i].latency.picoseconds > 0 {
                reports[i].speedupVsRing = ring.seconds / reports[i].latency.seconds
            }
        }
        return reports
    }

    /// Called every second of a long simulation with the strategy, the events handled, the events expected and the
    /// simulated time.
    public typealias Progress = (_ strategy: PrefillStrategy, _ events: Int, _ expected: Double, _ now: SimTime) -> Void

    /// Simulates one strategy: builds its program (`PrefillStrategy.program`) and runs it through `Execution`;
    /// `recording` keeps every transfer and interval for a trace. Every strategy has p^2 blocks or messages, so a run
    /// whose 3 p^2 events would not fit the time left (`TimeBudget.current`) is refused before it is built.
    public func run(_ strategy: PrefillStrategy, recording: Bool = false, progress: Progress? = nil) throws
        -> PrefillReport
    {
        let events = 3 * Double(gpus) * Double(gpus)
        try TimeBudget.current.check(
            events / ExecutionEstimate.eventsPerSecond, for: "simulating a prefill on \(gpus) GPUs",
            detail: String(format: "about %.2g events", events))
        let program = strategy.program
        let context = PrefillContext(
            workload: workload, options: options, roofline: try roofline(), cluster: cluster, causal: causal)
        let built = try program.build(context)
        let result = try Execution(
            recording: recording, breakdown: true, pacing: options.collective.pacing,
            messageOverhead: options.perMessage, progress: progress.map { report in { report(strategy, $0, $1, $2) } }
        ).run(built.phases, on: cluster)
        let breakdown = result.breakdown ?? ActivityBreakdown()
        let memory = program.peakMemoryBytes(context)
        let total = built.pairs.reduce(0, +), mean = Double(total) / Double(gpus)
        var notes = built.notes
        if !causal { notes.append("no causal mask: every query sees every key") }
        return PrefillReport(
            strategy: strategy.description, gpus: gpus, latency: result.makespan,
            compute: .seconds(breakdown.compute), communication: .seconds(breakdown.communication),
            idle: .seconds(breakdown.idle),
            bytesSentPerDevice: result.bytesSent.reduce(0, +) / Double(gpus),
            maxBytesSentPerDevice: result.bytesSent.max() ?? 0, visiblePairs: total,
            maxVisiblePairsPerDevice: built.pairs.max() ?? 0,
            imbalance: mean > 0 ? Double(built.pairs.max() ?? 0) / mean : 1,
            peakMemoryBytes: memory, fitsInMemory: memory <= cluster.gpu.memoryBytes, speedupVsRing: nil,
            events: result.events, messages: result.messages, notes: notes,
            execution: recording ? result : nil)
    }
}
