import Foundation
import Simulator

/// The regime the paper could not measure (docs/scale.md, `treeattn scale`): decode latency of Tree, Ring,
/// pass-partials and gather on rail-optimised 3-tier H100 fat trees (`dgx-h100-3tier`, one cluster sized to each GPU
/// count) from 8 to 65,536 GPUs at 1M to 100M tokens, idealised (no launch or call overheads), with the winner of
/// every cell and the breakdown that explains it. Rings beyond 2^24 hops x GPUs are extrapolated from their steady state
/// (`StepExtrapolation`, flagged in the CSV); gather beyond `gatherLimit` GPUs is not simulated (its incast makes
/// every arrival re-share one link among all senders: simulation time grows as p^2). Deterministic: the same
/// configuration gives the same bytes.
public enum ScaleStudy {
    /// What the study sweeps: GPU counts, sequence lengths, strategies and the decode shape.
    public struct Configuration: Sendable {
        /// GPU counts, each a multiple of 8 in 8...65536 (8-GPU servers of the 3-tier fat tree).
        public var gpuCounts = [8, 64, 512, 4096, 16_384, 65_536]
        /// Sequence lengths N in tokens, each at least 1.
        public var sequenceLengths = [1_000_000, 10_000_000, 100_000_000]
        /// The strategies compared in every cell (speedups are against overlapped ring when it is among them).
        public var strategies: [DecodeStrategy] = [
            .tree(collective: .tree), .ring(overlap: true), .passPartials, .gatherToOne,
        ]
        /// Largest GPU count at which gather is simulated.
        public var gatherLimit = 4096
        /// The paper's Fig. 3 block: 16 heads (of 128, bf16, batch 1).
        public var heads = 16
        /// The Fig. 3 block's head dimension, 128.
        public var headDim = 128
        /// The decode model's overheads and efficiencies (default idealised: no overheads).
        public var options = DecodeOptions()

        /// The defaults: 8 to 65,536 GPUs, 1M to 100M tokens, tree, ring, pass-partials and gather.
        public init() {}

        /// Throws `StudyError.invalidArgument` when a list is empty, a GPU count is not a multiple of 8 in
        /// 8...65536, or a sequence length is below 1.
        public func validate() throws {
            guard !gpuCounts.isEmpty, !sequenceLengths.isEmpty, !strategies.isEmpty else {
                throw StudyError.invalidArgument("the scale study needs GPU counts, sequence lengths and strategies")
            }
            for p in gpuCounts where !(p >= 8 && p % 8 == 0 && p <= 65_536) {
                throw StudyError.invalidArgument(
                    "scale study GPU count \(p): a multiple of 8 in 8...65536 (8-GPU servers)")
            }
            for n in sequenceLengths where n < 1 {
                throw StudyError.invalidArgument("scale study sequence length \(n) must be >= 1")
            }
        }

        /// The cluster of `p` GPUs: the 3-tier preset with p/8 servers.
        func cluster(_ p: Int) -> String { "dgx-h100-3tier:\(p / 8)" }
    }

    /// One (GPU count, sequence length, strategy) cell; `report` nil when not simulated.
    public struct Point: Sendable, Codable {
        /// Number of GPUs of the cell.
        public var gpus: Int
        /// Sequence length N in tokens of the cell.
        public var sequenceLength: Int
        /// The strategy simulated.
        public var strategy: DecodeStrategy
        /// The simulated decode step; nil for gather beyond `gatherLimit` GPUs.
        public var report: DecodeReport?
        /// Whether the latency comes from `StepExtrapolation` rather than every step.
        public var extrapolated: Bool { report?.notes.contains { $0.contains("extrapolated") } ?? false }
    }

    /// Runs every cell; `progress(done, total, label)` after each (the steps of `Grid`).
    public static func run(_ c: Configuration, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> [Point]
    {
        let grid = try Grid(c)
        return try grid.runAll(progress: progress).flatMap { $0 }
    }

    /// The study as a `StudyGrid`: one step per (GPU count, sequence length) cell, GPU counts outer, yielding the
    /// cell's points (one per strategy, with speedups against the cell's ring).
    public struct Grid: StudyGrid {
        /// The study's configuration (validated).
        public let configuration: Configuration

        /// Validates `c`.
        public init(_ c: Configuration) throws {
            try c.validate()
            configuration = c
        }

        public var stepCount: Int { configuration.gpuCounts.count * configuration.sequenceLengths.count }

        private func cell(_ i: Int) -> (p: Int, n: Int) {
            let c = configuration
            return (c.gpuCounts[i / c.sequenceLengths.count], c.sequenceLengths[i % c.sequenceLengths.count])
        }

        public func label(_ i: Int) -> String { "p=\(cell(i).p) N=\(cell(i).n)" }

        public func run(step i: Int) throws -> [Point] {
            let c = configuration, (p, n) = cell(i)
            let model = try DecodeModel(
                cluster: try Cluster.resolve(c.cluster(p)),
                workload: try DecodeWorkload(sequenceLength: n, heads: c.heads, headDim: c.headDim),
                options: c.options)
            var points = try c.strategies.map { s in
                let skip = s == .gatherToOne && p > c.gatherLimit
                return Point(
                    gpus: p, sequenceLength: n, strategy: s, report: skip ? nil : try model.run(s, recording: false))
            }
            // Speedups against the cell's ring (the ring is among the strategies by default).
            if let ring = points.first(where: { $0.strategy == .ring(overlap: true) })?.report?.latency {
                for i in points.indices where (points[i].report?.latency.picoseconds ?? 0) > 0 {
                    points[i].report!.speedupVsRing = ring.seconds / points[i].report!.latency.seconds
                }
            }
            return points
        }

        public var fileNames: [String] { ScaleStudy.fileNames(configuration) }

        public func files(_ steps: [[Point]]) throws -> [(name: String, contents: String)] {
            try ScaleStudy.files(configuration, steps.flatMap { $0 })
        }
    }

    /// The fastest simulated strategy of a cell.
    public static func winner(_ points: [Point], gpus p: Int, tokens n: Int) -> Point? {
        points.filter { $0.gpus == p && $0.sequenceLength == n && $0.report != nil }
            .min { $0.report!.latency < $1.report!.latency }
    }

    static func latency(_ points: [Point], _ s: DecodeStrategy, _ p: Int, _ n: Int) -> DecodeReport? {
        points.first { $0.strategy == s && $0.gpus == p && $0.sequenceLength == n }?.report
    }

    static func si(_ n: Int) -> String { PlotAxis.formatTick(Double(n), .si) }

    /// One row per cell.
    public static func csv(_ points: [Point]) -> CSVTable {
        var t = CSVTable(header: [
            "gpus", "seq_len", "strategy", "simulated", "latency_s", "compute_s", "communication_s", "idle_s",
            "elements_sent_per_device", "speedup_vs_ring", "events", "messages",
        ])
        for pt in points {
            let r = pt.report
            let simulated = r == nil ? "no" : pt.extrapolated ? "extrapolated" : "yes"
            try? t.append([
                "\(pt.gpus)", "\(pt.sequenceLength)", pt.strategy.description, simulated,
                CSVTable.number(r?.latency.seconds), CSVTable.number(r?.compute.seconds),
                CSVTable.number(r?.communication.seconds), CSVTable.number(r?.idle.seconds),
                CSVTable.number(r?.elementsSentPerDevice), CSVTable.number(r?.speedupVsRing),
                r.map { "\($0.events)" } ?? "", r.map { "\($0.messages)" } ?? "",
            ])
        }
        return t
    }

    /// Latency vs GPUs at one sequence length, one line per strategy (log-log).
    public static func latencyPlot(_ c: Configuration, _ points: [Point], tokens n: Int) throws -> LinePlot {
        let series = c.strategies.enumerated().map { (i, s) in
            PlotSeries(
                name: s.description,
                points: points.filter { $0.strategy == s && $0.sequenceLength == n && $0.report != nil }
                    .map { (x: Double($0.gpus), y: $0.report!.latency.seconds) }, colour: i)
        }
        return try LinePlot(
            title: "Decode latency vs GPUs, N = \(si(n)) tokens", xLabel: "GPUs", xScale: .log,
            xTicks: c.gpuCounts.map(Double.init), yLabel: "latency per decode step (s)", yScale: .log,
            series: series, caption: caption(c))
    }

    /// Ring latency / Tree latency vs GPUs, one line per sequence length.
    public static func speedupPlot(_ c: Configuration, _ points: [Point]) throws -> LinePlot {
        let tree = DecodeStrategy.tree(collective: .tree)
        let series = c.sequenceLengths.enumerated().map { (i, n) in
            PlotSeries(
                name: "N = \(si(n))",
                points: c.gpuCounts.compactMap { p in
                    guard let t = latency(points, tree, p, n), let r = latency(points, .ring(overlap: true), p, n)
                    else { return nil }
                    return (x: Double(p), y: r.latency.seconds / t.latency.seconds)
                }, colour: i)
        }
        return try LinePlot(
            title: "Tree Attention's speedup over Ring Attention vs GPUs", xLabel: "GPUs", xScale: .log,
            xTicks: c.gpuCounts.map(Double.init), yLabel: "ring latency / tree latency (x)", yScale: .log,
            series: series, caption: caption(c))
    }

    static func caption(_ c: Configuration) -> String {
        "dgx-h100-3tier (p/8 servers); b=1 n_h=\(c.heads) d_h=\(c.headDim) bf16; idealised"
    }

    /// docs/scale.md, scale/scale.csv and the plots (paths relative to the markdown's folder).
    public static func files(_ c: Configuration, _ points: [Point]) throws -> [(name: String, contents: String)] {
        var files: [(name: String, contents: String)] = [("scale/scale.csv", csv(points).render())]
        for n in c.sequenceLengths {
            files.append(("scale/latency-\(si(n)).svg", try latencyPlot(c, points, tokens: n).render()))
        }
        let hasTreeAndRing =
            c.strategies.contains(.tree(collective: .tree)) && c.strategies.contains(.ring(overlap: true))
        if hasTreeAndRing { files.append(("scale/speedup.svg", try speedupPlot(c, points).render())) }
        files.insert(("scale.md", markdown(c, points, plots: files.map(\.name).filter { $0.hasSuffix(".svg") })), at: 0)
        return files
    }

    /// The names `files` returns for `c` (known before the study runs, so a command can check and reserve every
    /// output path before any work).
    public static func fileNames(_ c: Configuration) -> [String] {
        var names = ["scale.md", "scale/scale.csv"] + c.sequenceLengths.map { "scale/latency-\(si($0)).svg" }
        if c.strategies.contains(.tree(collective: .tree)) && c.strategies.contains(.ring(overlap: true)) {
            names.append("scale/speedup.svg")
        }
        return names
    }

    static func time(_ t: SimTime?) -> String { t?.description ?? "-" }

    static func markdown(_ c: Configuration, _ points: [Point], plots: [String]) -> String {
        var md = """
            # Tree vs Ring at datacenter scale (generated)

            Generated by `make scale-doc` (`treeattn scale --out docs`); do not edit by hand. Every number below is a
            simulation of one decode step of the paper's Fig. 3 block (b = 1, \(c.heads) heads of \(c.headDim), bf16,
            idealised: no launch, call or per-message overheads) on the rail-optimised 3-tier H100 fat tree
            `dgx-h100-3tier:S` with S = p/8 servers (docs/simulator.md, "Fat trees"), K/V split over the p GPUs as
            evenly as possible (the first N mod p GPUs hold one token more). Rings over more than 4,096 GPUs (more than
            2^24 hops x GPUs) are simulated on prefixes and extrapolated from their steady state (`--ring-simulation
            auto`; column `simulated` = `extrapolated` in [scale/scale.csv](scale/scale.csv)): equal to every-step
            simulation when p divides N, else within 1/q of it, q = floor(N/p) tokens per GPU (a bound: the tests
            measure at most 6e-4 at q = 15), see docs/simulator.md. Gather is simulated up to \(c.gatherLimit) GPUs only: its incast re-shares
            one link among all senders at every arrival, so its simulation time grows as p^2 (about 2 minutes at 16,384 GPUs).


            """
        let tree = DecodeStrategy.tree(collective: .tree), ring = DecodeStrategy.ring(overlap: true)
        for n in c.sequenceLengths {
            md += "## N = \(si(n)) tokens\n\n"
            md +=
                "| GPUs | " + c.strategies.map(\.description).joined(separator: " | ") + " | fastest | ring / tree |\n"
            md += "|---|" + c.strategies.map { _ in "---|" }.joined() + "---|---|\n"
            for p in c.gpuCounts {
                let cells = c.strategies.map { s -> String in
                    let pt = points.first { $0.strategy == s && $0.gpus == p && $0.sequenceLength == n }
                    guard let r = pt?.report else { return "not simulated" }
                    return r.latency.description + (pt!.extrapolated ? " (e)" : "")
                }
                let win = winner(points, gpus: p, tokens: n)?.strategy.description ?? "-"
                let ratio =
                    latency(points, tree, p, n).flatMap { t in
                        latency(points, ring, p, n).map {
                            String(format: "%.3gx", $0.latency.seconds / t.latency.seconds)
                        }
                    } ?? "-"
                md += "| \(p) | " + cells.joined(separator: " | ") + " | \(win) | \(ratio) |\n"
            }
            // The extrapolation's bound per extrapolated row: exact when p divides N, else within 1/q (q = N/p tokens).
            let bounds = points.filter { $0.sequenceLength == n && $0.extrapolated }.map { pt -> String in
                let q = n / pt.gpus
                return n % pt.gpus == 0
                    ? "\(pt.gpus) GPUs exact"
                    : "\(pt.gpus) GPUs within 1/\(q) = " + String(format: "%.2g%%", 100 / Double(q))
            }
            md +=
                bounds.isEmpty
                ? "\n"
                : "\n(e): ring extrapolated from its steady state; bound on its error against every-step simulation: "
                    + bounds.joined(separator: ", ") + ".\n\n"
            if let plot = plots.first(where: { $0 == "scale/latency-\(si(n)).svg" }) {
                md += "![Decode latency vs GPUs at N = \(si(n))](\(plot))\n\n"
            }
        }
        if plots.contains("scale/speedup.svg") {
            md += "## Tree's speedup over Ring\n\n![Ring latency / tree latency vs GPUs](scale/speedup.svg)\n\n"
        }
        md += whyMarkdown(c, points)
        return md
    }

    /// "Where each one wins and why", with the breakdowns that show it.
    static func whyMarkdown(_ c: Configuration, _ points: [Point]) -> String {
        var md = "## Where each one wins, and why\n\n"
        var wins: [String: [String]] = [:]
        for n in c.sequenceLengths {
            for p in c.gpuCounts {
                if let w = winner(points, gpus: p, tokens: n) {
                    wins[w.strategy.description, default: []].append("\(p) GPUs at \(si(n))")
                }
            }
        }
        for s in c.strategies.map(\.description) {
            md +=
                "- **\(s)** is fastest in \(wins[s]?.count ?? 0) of \(c.gpuCounts.count * c.sequenceLengths.count) cells"
            md += (wins[s]?.isEmpty ?? true) ? ".\n" : ": " + wins[s]!.joined(separator: ", ") + ".\n"
        }
        md += "\nThe breakdowns (mean over GPUs of compute, exposed communication and idle time) say why:\n\n"
        md +=
            "| strategy | GPUs | N | latency | compute | communication | idle | sent per GPU (elements) |\n|---|---|---|---|---|---|---|---|\n"
        let pMin = c.gpuCounts.min()!, nMax = c.sequenceLengths.max()!, nMin = c.sequenceLengths.min()!
        for s in c.strategies {
            // The largest GPU count at which the strategy was simulated (gather stops at its limit).
            let pTop =
                c.gpuCounts.filter { p in c.sequenceLengths.allSatisfy { latency(points, s, p, $0) != nil } }.max()
                ?? pMin
            for (p, n) in [(pMin, nMax), (pTop, nMax), (pTop, nMin)] where !(p == pMin && pTop == pMin && n == nMin) {
                guard let r = latency(points, s, p, n) else { continue }
                md +=
                    "| \(s) | \(p) | \(si(n)) | \(r.latency) | \(r.compute) | \(r.communication) | \(r.idle) | "
                    + String(format: "%.4g", r.elementsSentPerDevice) + " |\n"
            }
        }
        md += """

            - **tree**: each GPU runs flash-decode over its N/p tokens (compute falls as 1/p) and then three all-reduces
              of b n_h, b d and b n_h values: a few kB, so they cost latency, about 2 log2(p) hops, not bandwidth.
              Its latency falls with p until the all-reduces' latency dominates, then grows slowly (log p).
            - **ring**: every GPU must see every chunk, so each GPU receives the whole K/V, N (p-1)/p tokens, through
              one link: once the hops outlast the blocks, the latency is about N x (bytes per token) / (slowest ring
              link), proportional to N and the same whatever p is; more GPUs do not help. Its volume per GPU is
              millions of times the tree's (last column), so it wins no cell here; within one server (8 GPUs on
              NVLink) it is only about 50x slower than the tree, across servers thousands of times.
            - **pass-partials**: the partials (not the K/V) travel along the chain and are merged at each hop: p-1
              sequential hops of a few kB, so its latency grows linearly in p (about one link latency plus one merge
              per GPU); it beats the ring at scale but not the tree, whose reduction depth is log p.
            - **gather**: every GPU sends its partial to one GPU, which merges all p in one kernel: a single hop and a
              single merge, which on a few GPUs (one NVLink server) beats the tree's three all-reduces of 2 log2(p)
              hops each. But that GPU receives p-1 partials through its own link (incast) and merges p of them, both
              linear in p, so the tree overtakes it as p grows.

            """
        return md
    }
}
