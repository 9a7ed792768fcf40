import TreeCore

/// The decode-step model: a workload on the first `gpus` GPUs of a cluster, with explicit options. This is the
/// library entry point a sweep or calibration layer calls:
///
///     let model = try DecodeModel(cluster: try Cluster.resolve("dgx-h100:2"), workload: w, options: DecodeOptions())
///     let reports = try model.compare([.tree(collective: .tree), .ring(overlap: true)])
///
/// `step: .backward` (or `.training`, forward then backward) simulates the attention's backward instead; the reports
/// then state the backward's volumes next to the forward's.
public struct DecodeModel: Sendable {
    /// The cluster the strategies run on, already cut to its first `gpus` GPUs when `init` was given a count.
    public var cluster: Cluster
    /// The attention shape: sequence length, batch, heads, head dimension and dtype.
    public var workload: DecodeWorkload
    /// The modelling knobs: overheads, efficiencies, collective options and how K/V rings are simulated.
    public var options: DecodeOptions
    /// The step simulated (default: the decode forward).
    public var step: DecodeStep

    /// `gpus` nil uses every GPU of the cluster.
    public init(
        cluster: Cluster, workload: DecodeWorkload, options: DecodeOptions = DecodeOptions(), gpus: Int? = nil,
        step: DecodeStep = .forward
    ) throws {
        self.cluster = try gpus.map { try cluster.prefix($0) } ?? cluster
        self.workload = workload
        self.options = options
        self.step = step
        _ = try roofline()
    }

    /// Number of GPUs the model uses (the cluster's GPU count).
    public var gpus: Int { cluster.gpuCount }

    /// The roofline of the cluster's device with the options' efficiencies and kernel launch cost. Throws
    /// `SimulatorError.invalidArgument` when an efficiency is outside (0, 1] (`init` checks it once).
    public func roofline() throws -> Roofline { try options.roofline(gpu: cluster.gpu) }

    /// Token counts per rank (Reference's even split: the first N mod p ranks get one extra token).
    public func shardTokens(ranks p: Int) throws -> [Int] {
        do {
            return try ShardLayout(keys: workload.sequenceLength, shards: p).ranges.map(\.count)
        } catch {
            throw SimulatorError.invalidArgument("\(error)")
        }
    }

    /// Called every second of a long simulation with the strategy, the events handled, the events expected
    /// (`ExecutionEstimate.events`) and the simulated time.
    public typealias Progress = (_ strategy: DecodeStrategy, _ events: Int, _ expected: Double, _ now: SimTime) -> Void

    /// Runs every strategy, and nothing else unless asked: speedups are against `ring` (overlapped) when it is among
    /// `strategies`; `baseline: true` also runs it, when absent, only to set them (nil otherwise). A step with a
    /// backward first checks that every strategy has a backward model (one error before anything runs).
    public func compare(
        _ strategies: [DecodeStrategy], recording: Bool = true, baseline runBaseline: Bool = false,
        progress: Progress? = nil
    ) throws -> [DecodeReport] {
        let baselineStrategy = DecodeStrategy.ring(overlap: true)
        if step.includesBackward { for s in strategies { _ = try s.program.backward() } }
        var reports = try strategies.map { try run($0, recording: recording, progress: progress) }
        let given = zip(strategies, reports).first(where: { $0.0 == baselineStrategy })?.1.latency
        guard
            let baseline = try given
                ?? (runBaseline ? run(baselineStrategy, recording: false, progress: progress).latency : nil)
        else {
            return reports
        }
        for i in reports.indices where reports[i].latency.picoseconds > 0 {
            reports[i].speedupVsRing = baseline.seconds / reports[i].latency.seconds
        }
        return reports
    }

    /// Simulates one strategy: builds its program (`DecodeStrategy.program`) and runs it through `Execution`. The
    /// breakdown is accumulated while it runs (memory independent of the message count); `recording` also keeps every
    /// transfer and interval in `DecodeReport.execution` (for traces: memory grows with the messages, and a run whose
    /// records would not fit `MemoryBudget.current` is refused before it starts).
    public func run(_ strategy: DecodeStrategy, recording: Bool = true, progress: Progress? = nil) throws
        -> DecodeReport
    {
        let program = strategy.program
        let roof = try roofline()
        let target = try program.target(cluster)
        let p = target.gpuCount
        let context = DecodeContext(
            workload: workload, options: options, roofline: roof, cluster: target,
            tokens: try shardTokens(ranks: p))
        let built = try program.build(context)
        var execution = Execution(
            recording: recording, breakdown: true, pacing: options.collective.pacing,
            messageOverhead: options.perMessage,
            progress: progress.map { report in { report(strategy, $0, $1, $2) } })
        // Mean elements sent per device by a run of `phases` alone.
        func elementsSent(_ phases: DecodePhases, _ result: ExecutionResult) -> Double {
            phases.modelledElementsSentPerDevice ?? result.bytesSent.reduce(0, +) / Double(p) / phases.sentElementBytes
        }
        var notes = built.notes
        // Runs phases, extrapolating a long K/V ring's steady state (`RingSimulation`; a trace needs every step).
        // Uneven splits: per-step times may differ by one token's share, 1/q of a step (q tokens per GPU).
        let q = context.tokens.min() ?? 0
        let tolerance = context.tokens.max() == q ? 1e-6 : max(1e-6, 1 / Double(max(q, 1)))
        // auto gives up once its prefixes reach a quarter of the ring (then the whole ring costs at most ~1.6x).
        let extrapolation = StepExtrapolation(
            tolerance: tolerance, longestPrefix: options.ringSimulation == .auto ? 0.25 : 1)
        func execute(_ phases: [RankProgram], _ execution: Execution) throws -> ExecutionResult {
            guard let h = StepExtrapolation.steps(of: phases), options.ringSimulation.extrapolates(steps: h, ranks: p),
                extrapolation.canGain(steps: h)
            else {
                return try execution.run(phases, on: target)
            }
            if execution.recording {
                if options.ringSimulation == .extrapolate {
                    throw SimulatorError.invalidArgument(
                        "a trace records every step of the ring; use --ring-simulation exact (or auto) with --trace")
                }
                return try execution.run(phases, on: target)
            }
            guard let outcome = try extrapolation.run(phases, on: target, execution: execution) else {
                let note = "K/V ring simulated every step: its per-step increments did not settle on the prefixes tried"
                if !notes.contains(note) { notes.append(note) }
                return try execution.run(phases, on: target)
            }
            let note = "K/V ring " + outcome.note
            if !notes.contains(where: { $0.hasPrefix("K/V ring extrapolated") }) { notes.append(note) }
            return outcome.result
        }
        // A step with a backward runs the backward (training: the forward then the backward) as its recorded run,
        // and the forward and the backward each alone (unrecorded) for their own latencies and volumes.
        let backward = try step.includesBackward ? program.backward() : nil
        let builtBackward = try backward?.build(context)
        let result: ExecutionResult
        var forwardAlone: ExecutionResult? = nil, backwardAlone: ExecutionResult? = nil
        if let b = builtBackward {
            result = try execute(step == .training ? built.phases + b.phases : b.phases, execution)
            execution.recording = false
            execution.breakdown = false
            forwardAlone = try execute(built.phases, execution)
            backwardAlone = step == .training ? try execute(b.phases, execution) : result
            notes += b.notes.filter { !notes.contains($0) }
        } else {
            result = try execute(built.phases, execution)
        }
        let breakdown = result.breakdown ?? ActivityBreakdown()
        let memory = backward.map { $0.peakMemory(context) } ?? program.peakMemory(context)
        var report = DecodeReport(
            strategy: strategy.description, gpus: p, step: step, latency: result.makespan,
            compute: .seconds(breakdown.compute), communication: .seconds(breakdown.communication),
            overhead: .seconds(breakdown.overhead), idle: .seconds(breakdown.idle),
            bytesPerLinkClass: result.bytesPerLinkClass,
            elementsSentPerDevice: elementsSent(built, forwardAlone ?? result),
            paperVolumeElements: program.paperVolume(workload, ranks: p), peakMemoryElements: memory.elements,
            peakMemoryBytes: memory.bytes,
            paperPeakMemoryElements: backward == nil ? program.paperMemory(workload, ranks: p) : nil,
            fitsInMemory: memory.bytes <= target.gpu.memoryBytes, speedupVsRing: nil, events: result.events,
            messages: result.messages, notes: notes, execution: recording ? result : nil)
        if let b = builtBackward, let forwardAlone, let backwardAlone {
            report.forwardLatency = forwardAlone.makespan
            report.backwardLatency = backwardAlone.makespan
            report.backwardElementsSentPerDevice = elementsSent(b, backwardAlone)
            report.paperBackwardVolumeElements = backward?.paperVolume(workload, ranks: p)
        }
        if target.gpu.kind == .gpu && workload.elementBytes == 8 {
            report.notes.append(
                "f64 on a GPU: the roofline's compute peak is the \(target.gpu.name)'s BF16 tensor peak; put its FP64 rate in bf16_TFLOPS if compute-bound kernels matter"
            )
        }
        if !report.fitsInMemory {
            report.notes.append(
                "needs \(formatBytes(memory.bytes)) per device, more than the \(formatBytes(target.gpu.memoryBytes)) of a \(target.gpu.name)"
            )
        }
        return report
    }

    /// The paper's communication volume (elements), for tree and ring; nil for the others.
    public func paperVolume(_ strategy: DecodeStrategy, p: Int) -> Double? {
        strategy.program.paperVolume(workload, ranks: p)
    }

    /// The backward's paper-style communication volume (elements): tree 2(p-1)/p (b d + b n_h), ring
    /// 2 V_ring = 4 b t d p; nil for the others (and for strategies without a backward model).
    public func paperBackwardVolume(_ strategy: DecodeStrategy, p: Int) -> Double? {
        (try? strategy.program.backward())?.paperVolume(workload, ranks: p)
    }

    /// The paper's peak memory per device (elements), for tree and ring; nil for the others.
    public func paperMemory(_ strategy: DecodeStrategy, p: Int) -> Double? {
        strategy.program.paperMemory(workload, ranks: p)
    }
}
