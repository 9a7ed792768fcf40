import Foundation
import Simulator

/// What `treeattn sweep` runs: every (GPU count, sequence length, strategy) of one decode workload on one cluster,
/// plus peak memory at each hidden size. All overheads are the explicit fields of `options`.
public struct SweepConfiguration: Sendable {
    /// A preset or cluster file (`Cluster.resolve`); it must hold at least the largest GPU count.
    public var cluster: String
    /// Sequence lengths N in tokens (K/V length of the decode step), distinct and at least the largest GPU count.
    public var sequenceLengths: [Int]
    /// GPU counts p (the first p GPUs of the cluster), distinct and at least 1.
    public var gpuCounts: [Int]
    /// The strategies compared at every point, distinct.
    public var strategies: [DecodeStrategy]
    /// Batch size b of the decode workload.
    public var batch: Int = 1
    /// Query heads n_h of the decode workload.
    public var heads: Int = 16
    /// Key/value heads n_kv of the decode workload; nil means `heads` (no GQA).
    public var kvHeads: Int? = nil
    /// Head dimension d_h of the decode workload.
    public var headDim: Int = 128
    /// Value dimension d_v (nil: `headDim`).
    public var valueDim: Int? = nil
    /// MLA's latent cache (`DecodeWorkload.latentKV`).
    public var latentKV = false
    /// A sliding window: at most this many tokens attended (`ModelAttention.window`); nil for none.
    public var window: Int? = nil
    /// Element type of K/V and the query: bf16, fp16, fp32, f64 or fp8.
    public var dtype: String = "bf16"
    /// Hidden sizes d = n_h d_h of the memory plot (n_h = d / d_h, the GQA group size kept); evaluated at the
    /// largest sequence length and the smallest GPU count. Empty: no memory points.
    public var hiddenSizes: [Int] = []
    /// The decode model's overheads and efficiencies (default idealised: no overheads).
    public var options: DecodeOptions = DecodeOptions()

    /// A sweep of `strategies` over `gpuCounts` x `sequenceLengths` on `cluster`, the other fields at their defaults.
    public init(cluster: String, sequenceLengths: [Int], gpuCounts: [Int], strategies: [DecodeStrategy]) {
        self.cluster = cluster
        self.sequenceLengths = sequenceLengths
        self.gpuCounts = gpuCounts
        self.strategies = strategies
    }

    /// Rejects empty lists, duplicates, non-positive values and hidden sizes that are not a multiple of d_h.
    public func validate() throws {
        if !hiddenSizes.isEmpty, latentKV || (valueDim ?? headDim) != headDim {
            throw StudyError.invalidArgument(
                "the memory plot over hidden sizes covers plain attention (d_v = d_h, separate K and V): give no hidden sizes"
            )
        }
        for (list, name) in [(sequenceLengths, "--seq-lens"), (gpuCounts, "--gpus")] {
            guard !list.isEmpty else { throw StudyError.invalidArgument("\(name) is empty") }
            guard list.allSatisfy({ $0 >= 1 }) else { throw StudyError.invalidArgument("\(name) values must be >= 1") }
            guard Set(list).count == list.count else { throw StudyError.invalidArgument("\(name) has duplicates") }
        }
        guard !strategies.isEmpty else { throw StudyError.invalidArgument("--strategy is empty") }
        guard Set(strategies.map(\.description)).count == strategies.count else {
            throw StudyError.invalidArgument("--strategy has duplicates")
        }
        let base = try workload(sequenceLength: sequenceLengths[0])
        for d in hiddenSizes {
            guard d >= 1, d % headDim == 0 else {
                throw StudyError.invalidArgument("hidden size \(d) is not a positive multiple of head-dim \(headDim)")
            }
            guard (d / headDim) % base.groupSize == 0 else {
                throw StudyError.invalidArgument(
                    "hidden size \(d) gives \(d / headDim) heads, not a multiple of the GQA group size \(base.groupSize)"
                )
            }
        }
        guard Set(hiddenSizes).count == hiddenSizes.count else {
            throw StudyError.invalidArgument("--hidden-sizes has duplicates")
        }
        for n in sequenceLengths {
            for p in gpuCounts where n < p {
                throw StudyError.invalidArgument(
                    "sequence length \(n) is shorter than \(p) GPUs (every GPU needs a token)")
            }
        }
    }

    /// The decode workload at `sequenceLength` tokens; `h` replaces the query heads (keeping the GQA group size), nil
    /// keeps `heads`. Throws the simulator's error for invalid shapes or an unknown dtype.
    public func workload(sequenceLength: Int, heads h: Int? = nil) throws -> DecodeWorkload {
        let n = h ?? heads
        let kv = h.map { $0 / (heads / (kvHeads ?? heads)) } ?? kvHeads
        return try DecodeWorkload(
            sequenceLength: window.map { min($0, sequenceLength) } ?? sequenceLength, batch: batch, heads: n,
            kvHeads: kv, headDim: headDim, dtype: dtype, valueDim: valueDim, latentKV: latentKV)
    }

    /// The configuration of `model`'s attention (heads, KV heads, dims, latent cache, window).
    public mutating func use(_ model: ModelAttention) {
        (heads, kvHeads, headDim, valueDim, latentKV, window) = (
            model.heads, model.kvHeads, model.headDim, model.valueDim, model.latentKV, model.window
        )
    }

    /// Units of work reported to the progress callback.
    public var totalSteps: Int { gpuCounts.count * sequenceLengths.count + hiddenSizes.count }
}

/// One simulated point.
public struct SweepPoint: Sendable, Codable {
    /// Name of the cluster the point ran on (its first `sweepGPUs` GPUs).
    public var cluster: String
    /// Name of the cluster's GPU model.
    public var gpuName: String
    /// The sweep's GPU count p for this point (the first p GPUs of the cluster). Points, rows and plot series are
    /// keyed by it; `report.gpus` is what the strategy used, which differs for `single` (always 1).
    public var sweepGPUs: Int
    /// Sequence length N in tokens of the point.
    public var sequenceLength: Int
    /// The decode workload simulated.
    public var workload: DecodeWorkload
    /// The strategy run (`report.strategy` is its name).
    public var strategy: DecodeStrategy
    /// The simulated decode step.
    public var report: DecodeReport
}

/// Peak memory per device at one hidden size, for one strategy: the paper's formula (tree and ring) and ours.
public struct MemoryPoint: Sendable, Equatable, Codable {
    /// Hidden size d = n_h d_h.
    public var hidden: Int
    /// Query heads n_h at this hidden size.
    public var heads: Int
    /// The strategy's name (`DecodeStrategy.description`).
    public var strategy: String
    /// The strategy itself (plots select points by it).
    public var decodeStrategy: DecodeStrategy
    /// Sequence length N in tokens (the sweep's largest).
    public var sequenceLength: Int
    /// GPUs the strategy used (the sweep's smallest count; 1 for `single`).
    public var gpus: Int
    /// Peak memory per device by the paper's formula, in bytes; nil for strategies the paper gives no formula for.
    public var paperBytes: Double?
    /// Peak memory per device by our accounting (`DecodeReport.peakMemoryBytes`), in bytes.
    public var simulatedBytes: Double
}

/// Everything a sweep computed: its configuration, one point per (GPU count, sequence length, strategy), and the
/// memory points of the hidden-size plot.
public struct SweepResult: Sendable {
    /// The configuration that was run.
    public var configuration: SweepConfiguration
    /// One point per (GPU count, sequence length, strategy), in that nesting order.
    public var points: [SweepPoint]
    /// The memory points, one per (hidden size, strategy); empty without hidden sizes.
    public var memory: [MemoryPoint]
}

/// The sweep engine and its outputs (CSV tables and SVG plots). Deterministic: the same configuration gives the
/// same bytes.
public enum Sweep {
    /// Runs every point; `progress(done, total, label)` is called after each (GPU count, sequence length) and each
    /// hidden size (the steps of `SweepGrid`).
    public static func run(_ c: SweepConfiguration, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws
        -> SweepResult
    {
        let grid = try SweepGrid(c)
        return grid.result(try grid.runAll(progress: progress))
    }

    /// Columns of the point CSV, in order (the link-class byte columns `bytes_<class>` follow, sorted by name).
    public static let pointColumns = [
        "cluster", "gpu", "gpus", "sweep_gpus", "seq_len", "batch", "heads", "kv_heads", "head_dim", "dtype",
        "strategy",
        "latency_s", "compute_s", "communication_s", "overhead_s", "idle_s", "elements_sent_per_device",
        "paper_volume_elements", "peak_memory_elements", "peak_memory_bytes", "paper_peak_memory_elements",
        "fits_in_memory", "speedup_vs_ring", "events", "messages",
        "kernel_launch_s", "collective_call_s", "per_message_s", "memory_efficiency", "compute_efficiency",
        "ring_sends_expanded_kv", "notes",
    ]

    /// One row per (GPU count, sequence length, strategy): every report field.
    public static func pointsCSV(_ result: SweepResult) -> CSVTable {
        let classes = Array(Set(result.points.flatMap { $0.report.bytesPerLinkClass.map(\.name) })).sorted()
        var table = CSVTable(header: pointColumns + classes.map { "bytes_\($0)" })
        let o = result.configuration.options
        let num = CSVTable.number
        for pt in result.points {
            let r = pt.report, w = pt.workload
            var bytes: [String: Double] = [:]
            for (name, b) in r.bytesPerLinkClass { bytes[name, default: 0] += b }
            let row: [String] =
                [
                    pt.cluster, pt.gpuName, "\(r.gpus)", "\(pt.sweepGPUs)", "\(pt.sequenceLength)", "\(w.batch)",
                    "\(w.heads)",
                    "\(w.kvHeads)", "\(w.headDim)", w.dtype, r.strategy,
                    num(r.latency.seconds), num(r.compute.seconds), num(r.communication.seconds),
                    num(r.overhead.seconds),
                    num(r.idle.seconds), num(r.elementsSentPerDevice), num(r.paperVolumeElements),
                    num(r.peakMemoryElements),
                    num(r.peakMemoryBytes), num(r.paperPeakMemoryElements), "\(r.fitsInMemory)", num(r.speedupVsRing),
                    "\(r.events)", "\(r.messages)",
                    num(o.kernelLaunch.seconds), num(o.collectiveCall.seconds), num(o.perMessage.seconds),
                    num(o.memoryEfficiency), num(o.computeEfficiency), "\(o.ringSendsExpandedKV)",
                    r.notes.joined(separator: "; "),
                ] + classes.map { num(bytes[$0] ?? 0) }
            table.rows.append(row)
        }
        return table
    }

    /// Columns of the memory CSV, in order.
    public static let memoryColumns = [
        "hidden", "heads", "strategy", "seq_len", "gpus", "tokens_per_gpu",
        "paper_peak_memory_bytes", "simulated_peak_memory_bytes",
    ]

    /// One row per memory point: hidden size, heads, strategy, sequence length, GPUs, tokens per GPU and the paper's
    /// and simulated peak bytes per device (the paper's empty when it has no formula).
    public static func memoryCSV(_ result: SweepResult) -> CSVTable {
        var table = CSVTable(header: memoryColumns)
        for m in result.memory {
            table.rows.append([
                "\(m.hidden)", "\(m.heads)", m.strategy, "\(m.sequenceLength)", "\(m.gpus)",
                CSVTable.number(Double(m.sequenceLength) / Double(m.gpus)),
                CSVTable.number(m.paperBytes), CSVTable.number(m.simulatedBytes),
            ])
        }
        return table
    }

    static func settingCaption(_ c: SweepConfiguration) -> String {
        let o = c.options
        return "\(c.cluster); b=\(c.batch) n_h=\(c.heads) n_kv=\(c.kvHeads ?? c.heads) d_h=\(c.headDim) \(c.dtype); "
            + "launch \(o.kernelLaunch), call \(o.collectiveCall), msg \(o.perMessage), eta_mem \(o.memoryEfficiency), eta_c \(o.computeEfficiency)"
    }

    /// Latency vs sequence length, one line per (strategy, GPU count); log-log.
    public static func latencyPlot(_ result: SweepResult, title: String = "Decode latency vs sequence length") throws
        -> LinePlot
    {
        let c = result.configuration
        var series: [PlotSeries] = []
        for (si, s) in c.strategies.enumerated() {
            for (gi, p) in c.gpuCounts.enumerated() {
                let pts = result.points.filter { $0.strategy == s && $0.sweepGPUs == p }
                    .map { (x: Double($0.sequenceLength), y: $0.report.latency.seconds) }
                series.append(PlotSeries(name: "\(s) (\(p) GPUs)", points: pts, colour: si, dash: gi))
            }
        }
        return try LinePlot(
            title: title, xLabel: "sequence length N (tokens)", xScale: .log, xFormat: .si,
            yLabel: "latency per decode step (s)", yScale: .log, series: series, caption: settingCaption(c))
    }

    /// Speedup over Ring (ring latency / strategy latency) vs GPU count, one line per (strategy, sequence length).
    public static func speedupPlot(_ result: SweepResult, title: String = "Speedup over Ring Attention vs GPU count")
        throws -> LinePlot
    {
        let c = result.configuration
        var series: [PlotSeries] = []
        let others = c.strategies.filter { $0 != .ring(overlap: true) }
        for (si, s) in (others.isEmpty ? c.strategies : others).enumerated() {
            for (ni, n) in c.sequenceLengths.enumerated() {
                let pts = result.points.filter { $0.strategy == s && $0.sequenceLength == n }
                    .compactMap { pt in pt.report.speedupVsRing.map { (x: Double(pt.sweepGPUs), y: $0) } }
                series.append(
                    PlotSeries(
                        name: "\(s)/ring, N=\(PlotAxis.formatTick(Double(n), .si))", points: pts, colour: ni, dash: si))
            }
        }
        return try LinePlot(
            title: title, xLabel: "GPUs", xScale: .log, xTicks: c.gpuCounts.map(Double.init),
            yLabel: "speedup over ring (x)", yScale: .log, series: series, caption: settingCaption(c))
    }

    /// Peak memory per device vs hidden size: the paper's formula (dashed) and our accounting (solid).
    public static func memoryPlot(_ result: SweepResult, title: String = "Peak attention memory per GPU vs hidden size")
        throws -> LinePlot
    {
        let c = result.configuration
        guard let first = result.memory.first else {
            throw StudyError.invalidArgument("no hidden sizes: no memory plot")
        }
        var series: [PlotSeries] = []
        for (si, s) in c.strategies.enumerated() {
            let pts = result.memory.filter { $0.decodeStrategy == s }
            series.append(
                PlotSeries(
                    name: "\(s) simulated", points: pts.map { (x: Double($0.hidden), y: $0.simulatedBytes / 1e9) },
                    colour: si))
            let paper = pts.compactMap { m in m.paperBytes.map { (x: Double(m.hidden), y: $0 / 1e9) } }
            if !paper.isEmpty {
                series.append(PlotSeries(name: "\(s) paper formula", points: paper, colour: si, dash: 1))
            }
        }
        return try LinePlot(
            title: title, xLabel: "hidden size d = n_h d_h", xScale: .linear, xTicks: c.hiddenSizes.map(Double.init),
            yLabel: "peak memory per GPU (GB)", yScale: .linear, series: series,
            caption:
                "N=\(first.sequenceLength), \(first.gpus) GPUs (t=\(first.sequenceLength / first.gpus) tokens/GPU), b=\(c.batch), \(c.dtype); GB = 1e9 bytes"
        )
    }

    /// The names `files` returns for a sweep of `c` (known before it runs, so a command can check and reserve every
    /// output path before any work).
    public static func fileNames(_ c: SweepConfiguration) -> [String] {
        ["sweep.csv", "latency.svg", "speedup.svg"] + (c.hiddenSizes.isEmpty ? [] : ["memory.csv", "memory.svg"])
    }

    /// Every output file of a sweep: name -> contents.
    public static func files(_ result: SweepResult) throws -> [(name: String, contents: String)] {
        var files: [(String, String)] = [
            ("sweep.csv", pointsCSV(result).render()),
            ("latency.svg", try latencyPlot(result).render()),
            ("speedup.svg", try speedupPlot(result).render()),
        ]
        if !result.memory.isEmpty {
            files.append(("memory.csv", memoryCSV(result).render()))
            files.append(("memory.svg", try memoryPlot(result).render()))
        }
        return files
    }
}

/// A sweep as a `StudyGrid`: one step per (GPU count, sequence length), GPU counts outer, then one per hidden size of
/// the memory plot.
public struct SweepGrid: StudyGrid {
    /// The sweep's configuration (validated).
    public let configuration: SweepConfiguration
    /// The cluster every step cuts its GPUs from.
    let cluster: Cluster

    /// What one step yields: its points (one per strategy) or its memory points.
    public struct Step: Codable, Sendable {
        /// The (GPU count, sequence length) step's points, one per strategy; empty for a memory step.
        public var points: [SweepPoint] = []
        /// The hidden-size step's memory points, one per strategy; empty for a latency step.
        public var memory: [MemoryPoint] = []
    }

    /// Validates `c` and resolves its cluster. Throws `StudyError.invalidArgument` when the largest GPU count exceeds
    /// the cluster's.
    public init(_ c: SweepConfiguration) throws {
        try c.validate()
        let cluster = try Cluster.resolve(c.cluster)
        guard let maxGPUs = c.gpuCounts.max(), maxGPUs <= cluster.gpuCount else {
            throw StudyError.invalidArgument(
                "--gpus \(c.gpuCounts.max() ?? 0) exceeds the \(cluster.gpuCount) GPUs of \(cluster.name)")
        }
        (configuration, self.cluster) = (c, cluster)
    }

    public var stepCount: Int { configuration.totalSteps }

    /// Latency steps come first: step i is GPU count i / (sequence lengths) and length i mod (sequence lengths).
    private var latencySteps: Int { configuration.gpuCounts.count * configuration.sequenceLengths.count }

    public func label(_ i: Int) -> String {
        let c = configuration
        guard i < latencySteps else { return "memory d=\(c.hiddenSizes[i - latencySteps])" }
        return "p=\(c.gpuCounts[i / c.sequenceLengths.count]) N=\(c.sequenceLengths[i % c.sequenceLengths.count])"
    }

    public func run(step i: Int) throws -> Step {
        let c = configuration
        guard i < latencySteps else {
            let d = c.hiddenSizes[i - latencySteps], n = c.sequenceLengths.max()!, p = c.gpuCounts.min()!
            let w = try c.workload(sequenceLength: n, heads: d / c.headDim)
            let model = try DecodeModel(cluster: cluster, workload: w, options: c.options, gpus: p)
            return Step(
                memory: try c.strategies.map { s in
                    let r = try model.run(s, recording: false)
                    // `gpus` is what the strategy uses: a single-GPU run holds all N tokens on one device.
                    return MemoryPoint(
                        hidden: d, heads: w.heads, strategy: s.description, decodeStrategy: s, sequenceLength: n,
                        gpus: r.gpus,
                        paperBytes: model.paperMemory(s, p: model.gpus).map { $0 * Double(w.elementBytes) },
                        simulatedBytes: r.peakMemoryBytes)
                })
        }
        let p = c.gpuCounts[i / c.sequenceLengths.count], n = c.sequenceLengths[i % c.sequenceLengths.count]
        let w = try c.workload(sequenceLength: n)
        let model = try DecodeModel(cluster: cluster, workload: w, options: c.options, gpus: p)
        let reports = try model.compare(c.strategies, recording: false, baseline: true)
        return Step(
            points: zip(c.strategies, reports).map { s, report in
                SweepPoint(
                    cluster: model.cluster.name, gpuName: cluster.gpu.name, sweepGPUs: p, sequenceLength: n,
                    workload: w, strategy: s, report: report)
            })
    }

    /// The sweep's result from every step's, in step order.
    public func result(_ steps: [Step]) -> SweepResult {
        SweepResult(
            configuration: configuration, points: steps.flatMap(\.points), memory: steps.flatMap(\.memory))
    }

    public var fileNames: [String] { Sweep.fileNames(configuration) }

    public func files(_ steps: [Step]) throws -> [(name: String, contents: String)] {
        try Sweep.files(result(steps))
    }
}
