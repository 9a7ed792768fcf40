import Foundation
import Simulator

/// The paper's published numbers (arXiv 2408.04093 v4) and our predictions for the same settings, under the
/// idealised model and under one calibration (`Calibration.paperCode`). `document()` renders
/// docs/paper-reproduction.md and the SVG plots it references; everything is deterministic.
public struct PaperReproduction: Sendable {
    /// The calibration of the "calibrated" predictions (default `Calibration.paperCode`).
    public var calibration: Calibration
    /// The calibration of the "idealised" predictions (default `Calibration.idealised`, every overhead zero).
    public var idealised: Calibration

    /// A reproduction predicting with `calibration` and `idealised`.
    public init(calibration: Calibration = .paperCode, idealised: Calibration = .idealised) {
        self.calibration = calibration
        self.idealised = idealised
    }

    // MARK: The paper's numbers

    /// Fig. 3: one block, 16 heads x 128, b = 1, one decode query; (GPUs, DGX H100 nodes).
    public static let figure3GPUs: [(gpus: Int, nodes: Int)] = [(8, 1), (64, 8), (128, 16)]
    /// Fig. 3's sequence lengths N in tokens, 80k to 5.12M.
    public static let figure3SequenceLengths = [80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000, 5_120_000]
    /// "close to 8x" at 128 GPUs and 5.12M tokens (the only number the text gives).
    public static let figure3PaperSpeedup = 8.0

    /// Compile times measured by `python3 python/fig3_compile_time.py` (our own shard_map tree and ring decodes on
    /// host CPU devices; medians over fresh processes): an order-of-magnitude check of the fixed cost per Fig. 3
    /// timing, quoted in the document with the machine it ran on. Measured once and stated, never fitted.
    public struct CompileTimeMeasurement: Sendable, Equatable {
        /// The day it was measured (YYYY-MM-DD).
        public var date: String
        /// The CPU it ran on.
        public var cpu: String
        /// Cores of that machine (shared with other jobs).
        public var cores: Int
        /// The JAX version.
        public var jax: String
        /// The command that measured it.
        public var command: String
        /// Emulated host CPU devices the shard_map programs ran on.
        public var devices: Int
        /// The decode setting measured, in words (query tokens, heads, keys, dtype).
        public var setting: String
        /// Fresh processes the medians are over.
        public var processes: Int
        /// Tree decode's first call (trace, lower, compile and run), median milliseconds.
        public var treeFirstCallMs: Int
        /// Tree decode's lowering plus compilation alone, median milliseconds.
        public var treeCompileMs: Int
        /// Tree decode's warm call, median milliseconds.
        public var treeWarmMs: Int
        /// Ring decode's first call (trace, lower, compile and run), median milliseconds.
        public var ringFirstCallMs: Int
        /// Ring decode's lowering plus compilation alone, median milliseconds.
        public var ringCompileMs: Int
        /// Ring decode's warm call, median milliseconds.
        public var ringWarmMs: Int
    }

    /// The compile-time measurement quoted in the document (a stated constant, never fitted).
    public static let figure3CompileTime = CompileTimeMeasurement(
        date: "2026-11-25", cpu: "AMD EPYC", cores: 2, jax: "0.10.2", command: "python3 python/fig3_compile_time.py",
        devices: 8, setting: "one query token, 16 heads x 128, N = 4,096 keys, float32", processes: 3,
        treeFirstCallMs: 498, treeCompileMs: 409, treeWarmMs: 27, ringFirstCallMs: 914, ringCompileMs: 372,
        ringWarmMs: 336)

    /// One row of Tables 1 and 2: prompt length and the measured seconds for prefill + 10 new tokens.
    public struct PaperRow: Sendable, Equatable {
        /// Prompt length N in tokens.
        public var promptTokens: Int
        /// Tree Attention's measured seconds.
        public var tree: Double
        /// Ring Attention's measured seconds.
        public var ring: Double
        /// The paper's Tree speedup over Ring: ring seconds / tree seconds.
        public var speedup: Double { ring / tree }
    }

    /// One table of the paper: the setting and its measured rows.
    public struct Platform: Sendable {
        /// The table's title, e.g. "Table 1, Llama 3.1-8B, 8 x H100 (one DGX node)".
        public var title: String
        /// The cluster, as `Cluster.resolve` reads it (e.g. "dgx-h100:1").
        public var cluster: String
        /// The model generating.
        public var model: ModelSpec
        /// The paper's rows, by prompt length.
        public var rows: [PaperRow]
    }

    /// Table 1 on 8 x H100 (one DGX node), Llama 3.1-8B.
    public static let table1H100 = Platform(
        title: "Table 1, Llama 3.1-8B, 8 x H100 (one DGX node)", cluster: "dgx-h100:1",
        model: .llama31_8B,
        rows: [
            PaperRow(promptTokens: 32_000, tree: 0.60, ring: 2.57),
            PaperRow(promptTokens: 64_000, tree: 1.08, ring: 4.42),
            PaperRow(promptTokens: 128_000, tree: 2.68, ring: 6.38),
            PaperRow(promptTokens: 256_000, tree: 2.89, ring: 8.19),
        ])
    /// Table 1 on 4 x MI300X, Llama 3.1-8B.
    public static let table1MI300X = Platform(
        title: "Table 1, Llama 3.1-8B, 4 x MI300X", cluster: "mi300x:4",
        model: .llama31_8B,
        rows: [
            PaperRow(promptTokens: 32_000, tree: 1.05, ring: 3.57),
            PaperRow(promptTokens: 64_000, tree: 2.36, ring: 7.33),
            PaperRow(promptTokens: 128_000, tree: 6.43, ring: 16.40),
            PaperRow(promptTokens: 256_000, tree: 15.30, ring: 35.12),
        ])
    /// Table 2 on 2 x RTX 4090 (PCIe), Llama 3.2-1B.
    public static let table2RTX4090 = Platform(
        title: "Table 2, Llama 3.2-1B, 2 x RTX 4090 (PCIe)", cluster: "rtx4090-pcie:2",
        model: .llama32_1B,
        rows: [
            PaperRow(promptTokens: 8_000, tree: 0.34, ring: 1.38),
            PaperRow(promptTokens: 16_000, tree: 0.58, ring: 2.77),
            PaperRow(promptTokens: 20_000, tree: 0.74, ring: 3.47),
            PaperRow(promptTokens: 32_000, tree: 1.01, ring: 5.45),
        ])
    /// Every table, in the document's order.
    public static let platforms = [table1H100, table1MI300X, table2RTX4090]

    /// Memory gaps measured on 2 x RTX 4090 (ring minus tree peak memory), MB = 1e6 bytes: (hidden size, MB).
    public static let memoryGapsMB: [(hidden: Int, megabytes: Double)] = [(2048, 524), (4096, 1040)]
    /// Tokens per GPU consistent with the gaps (t = 64k = 64,000, bf16, b = 1, head dim 128).
    public static let memoryTokensPerGPU = 64_000

    // MARK: Predictions

    /// One predicted Fig. 3 point: seconds of one decode step of one block, idealised and calibrated.
    public struct Figure3Point: Sendable, Equatable {
        /// Number of GPUs.
        public var gpus: Int
        /// Sequence length N in tokens.
        public var sequenceLength: Int
        /// Tree decode seconds, idealised.
        public var idealTree: Double
        /// Ring decode seconds (sequential hops), idealised.
        public var idealRing: Double
        /// Tree decode seconds, calibrated.
        public var calibratedTree: Double
        /// Ring decode seconds (sequential hops), calibrated.
        public var calibratedRing: Double
        /// Idealised Tree speedup over Ring: ring seconds / tree seconds.
        public var idealSpeedup: Double { idealRing / idealTree }
        /// Calibrated Tree speedup over Ring: ring seconds / tree seconds.
        public var calibratedSpeedup: Double { calibratedRing / calibratedTree }
    }

    /// The Fig. 3 baseline: the JAX Ring Attention of the paper makes p sequential hops without overlap.
    public static let figure3Ring = DecodeStrategy.ring(overlap: false)
    /// The Tree decode of every prediction: Algorithm 3 with tree-algorithm all-reduces.
    public static let tree = DecodeStrategy.tree(collective: .tree)
    /// Tables 1 and 2 (PyTorch code): ring hops overlapped with compute.
    public static let tableRing = DecodeStrategy.ring(overlap: true)

    /// One Fig. 3 point under a calibration: (tree, ring) seconds of one decode step of one block.
    public func figure3Latency(gpus: Int, nodes: Int, sequenceLength: Int, _ c: Calibration) throws -> (
        tree: Double, ring: Double
    ) {
        let cluster = try c.apply(to: try ClusterPreset.dgxH100(servers: nodes).build().prefix(gpus))
        let w = try DecodeWorkload(
            sequenceLength: sequenceLength, batch: 1, heads: 16, kvHeads: 16, headDim: 128, dtype: "bf16")
        let m = try DecodeModel(cluster: cluster, workload: w, options: c.decodeOptions)
        return (
            try m.run(Self.tree, recording: false).latency.seconds,
            try m.run(Self.figure3Ring, recording: false).latency.seconds
        )
    }

    /// Every Fig. 3 point (each GPU count at each of `sequenceLengths`), idealised and calibrated; `progress` is
    /// called after each point.
    public func figure3(sequenceLengths: [Int] = figure3SequenceLengths, progress: () -> Void = {}) throws
        -> [Figure3Point]
    {
        var points: [Figure3Point] = []
        for (p, nodes) in Self.figure3GPUs {
            for n in sequenceLengths {
                let ideal = try figure3Latency(gpus: p, nodes: nodes, sequenceLength: n, idealised)
                let cal = try figure3Latency(gpus: p, nodes: nodes, sequenceLength: n, calibration)
                points.append(
                    Figure3Point(
                        gpus: p, sequenceLength: n, idealTree: ideal.tree, idealRing: ideal.ring,
                        calibratedTree: cal.tree, calibratedRing: cal.ring))
                progress()
            }
        }
        return points
    }

    /// One table row: the paper's measurement and our idealised and calibrated predictions of it.
    public struct TablePoint: Sendable, Equatable {
        /// The paper's row.
        public var paper: PaperRow
        /// Idealised predictions for Tree and Ring.
        public var ideal: (tree: GenerationReport, ring: GenerationReport)
        /// Calibrated predictions for Tree and Ring.
        public var calibrated: (tree: GenerationReport, ring: GenerationReport)
        /// Idealised Tree speedup over Ring: ring total / tree total.
        public var idealSpeedup: Double { ideal.ring.total.seconds / ideal.tree.total.seconds }
        /// Calibrated Tree speedup over Ring: ring total / tree total.
        public var calibratedSpeedup: Double { calibrated.ring.total.seconds / calibrated.tree.total.seconds }
        /// Calibrated Tree/Ring speedup divided by the paper's.
        public var ratio: Double { calibratedSpeedup / paper.speedup }
        /// Equal when the paper rows and all four reports are equal.
        public static func == (a: TablePoint, b: TablePoint) -> Bool {
            a.paper == b.paper && a.ideal.tree == b.ideal.tree && a.ideal.ring == b.ideal.ring
                && a.calibrated.tree == b.calibrated.tree && a.calibrated.ring == b.calibrated.ring
        }
    }

    /// Predicts one row under calibration `c`: prefill then 10 new tokens on the platform's cluster and model, with
    /// Tree and with overlapped Ring decode.
    public func generation(_ platform: Platform, row: PaperRow, _ c: Calibration) throws -> (
        tree: GenerationReport, ring: GenerationReport
    ) {
        let w = try GenerationWorkload(model: platform.model, promptTokens: row.promptTokens, newTokens: 10)
        let g = try GenerationModel(cluster: try Cluster.resolve(platform.cluster), workload: w, calibration: c)
        return (try g.run(Self.tree), try g.run(Self.tableRing))
    }

    /// Every row of `platform`, predicted idealised and calibrated; `progress` is called after each row.
    public func table(_ platform: Platform, progress: () -> Void = {}) throws -> [TablePoint] {
        try platform.rows.map { row in
            defer { progress() }
            return TablePoint(
                paper: row, ideal: try generation(platform, row: row, idealised),
                calibrated: try generation(platform, row: row, calibration))
        }
    }

    /// One memory gap (Ring minus Tree peak memory per device): the paper's measurement, its formulas and ours.
    public struct MemoryGap: Sendable, Equatable {
        /// The model's hidden size (heads x 128).
        public var hidden: Int
        /// The paper's measured gap, MB (1e6 bytes).
        public var paperMeasuredMB: Double
        /// The paper's formulas: (4btd + 2bd) - (2btd + 2bd + 2b n_h) elements, times 2 bytes (bf16).
        public var formulaMB: Double
        /// Our per-device accounting (DecodeModel peak memory, ring minus tree).
        public var simulatedMB: Double
    }

    /// Memory gaps on 2 x RTX 4090 at t = 64,000 tokens per GPU, bf16, b = 1, head dim 128.
    public func memoryGaps() throws -> [MemoryGap] {
        try Self.memoryGapsMB.map { (d, mb) in
            let heads = d / 128
            let w = try DecodeWorkload(
                sequenceLength: 2 * Self.memoryTokensPerGPU, batch: 1, heads: heads, kvHeads: heads, headDim: 128,
                dtype: "bf16")
            let m = try DecodeModel(cluster: try Cluster.resolve("rtx4090-pcie:2"), workload: w)
            let formula = (m.paperMemory(Self.tableRing, p: 2)! - m.paperMemory(Self.tree, p: 2)!) * 2
            let simulated =
                try m.run(Self.tableRing, recording: false).peakMemoryBytes
                - m.run(Self.tree, recording: false).peakMemoryBytes
            return MemoryGap(hidden: d, paperMeasuredMB: mb, formulaMB: formula / 1e6, simulatedMB: simulated / 1e6)
        }
    }

    /// Units of work for a progress bar.
    public var totalSteps: Int {
        Self.figure3GPUs.count * Self.figure3SequenceLengths.count + Self.platforms.reduce(0) { $0 + $1.rows.count } + 1
    }

    // MARK: Document

    /// The rendered document.
    public struct Output: Sendable {
        /// The text of docs/paper-reproduction.md.
        public var markdown: String
        /// SVG files referenced by the markdown (name relative to the markdown's directory, contents).
        public var files: [(name: String, contents: String)]
    }

    /// Computes everything and renders the document. `command` is the command line shown in the document.
    public func document(
        command: String = "treeattn reproduce-paper --out docs/paper-reproduction.md",
        progress: (String) -> Void = { _ in }
    ) throws -> Output {
        let fig3 = try figure3 { progress("figure 3") }
        var tables: [(Platform, [TablePoint])] = []
        for p in Self.platforms { tables.append((p, try table(p) { progress(p.title) })) }
        let gaps = try memoryGaps()
        progress("memory")
        return try render(fig3: fig3, tables: tables, gaps: gaps, command: command)
    }
}
