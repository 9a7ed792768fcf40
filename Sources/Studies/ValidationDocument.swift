import Foundation
import Simulator

/// docs/validation.md and its CSV, SVG and JSON: every point, the headline numbers, where the model is off.
public struct ValidationDocument: Sendable {
    /// Every measured point with its prediction.
    public let points: [ValidationPoint]
    /// The command that produced it (quoted in the document).
    public let command: String
    /// Query heads of the decode shape.
    public let heads: Int
    /// Head dimension of the decode shape.
    public let headDim: Int
    /// Timed runs per point (after one warm-up).
    public let repeats: Int
    /// The emulated network's rate (tc tbf syntax).
    public let rate: String
    /// The file name of the plot, linked from the markdown.
    public let svgName: String
    /// Two tiers: the number of hosts and the rate of each host's link (tc tbf syntax).
    public var hosts = 2, twoTierRate = "100mbit"

    /// A document of `points`.
    public init(
        points: [ValidationPoint], command: String, heads: Int, headDim: Int, repeats: Int, rate: String,
        svgName: String
    ) {
        (self.points, self.command, self.heads, self.headDim, self.repeats, self.rate, self.svgName) =
            (points, command, heads, headDim, repeats, rate, svgName)
    }

    /// The methods measured, in the order tables and plots show them.
    var methods: [String] {
        let known = ["algorithm3", "binary", "two-level", "flat", "merge-op", "pass-partials", "ring"]
        let present = Set(points.map(\.method))
        return known.filter(present.contains) + present.subtracting(known).sorted()
    }

    /// Two tiers: at how many (P, N) the measured and the predicted step agree on which method is fastest, and on
    /// whether two-level beats flat.
    func topologyOrders() -> (fastest: Int, cells: Int, twoLevelRight: Int, twoLevelCells: Int) {
        let mine = points.filter { $0.network == ValidationCampaign.Network.twoTier.rawValue }
        var (fastest, cells, right, pairs) = (0, 0, 0, 0)
        for cell in Set(mine.map { [$0.ranks, $0.keys] }).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let here = mine.filter { [$0.ranks, $0.keys] == cell }
            if here.count > 1 {
                cells += 1
                let m = here.min { $0.measured.median < $1.measured.median }!.method
                if m == here.min(by: { $0.predicted < $1.predicted })!.method { fastest += 1 }
            }
            if let t = here.first(where: { $0.method == "two-level" }),
                let f = here.first(where: { $0.method == "flat" })
            {
                pairs += 1
                if (t.measured.median < f.measured.median) == (t.predicted < f.predicted) { right += 1 }
            }
        }
        return (fastest, cells, right, pairs)
    }

    func f(_ x: Double) -> String {
        if x >= 1 { return String(format: "%.3f s", x) }
        if x >= 1e-3 { return String(format: "%.3f ms", x * 1e3) }
        return String(format: "%.1f us", x * 1e6)
    }

    /// (points within 25%, points, Tree/Ring order right, comparisons) for one network.
    func summary(_ network: String) -> (within: Int, total: Int, orderRight: Int, orders: Int) {
        let mine = points.filter { $0.network == network }
        let within = mine.filter { abs($0.error) <= 0.25 }.count
        var right = 0, orders = 0
        for p in mine where p.method == "ring" {
            for t in mine where t.method != "ring" && t.ranks == p.ranks && t.keys == p.keys {
                orders += 1
                if (t.measured.median < p.measured.median) == (t.predicted < p.predicted) { right += 1 }
            }
        }
        return (within, mine.count, right, orders)
    }

    /// Cores of this machine: more ranks than cores share them (oversubscribed).
    public static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// One line per network: points within 25% of the measured median (split at the machine's core count), the
    /// worst error, and how often the Tree/Ring order is right.
    public func headline() -> String {
        Set(points.map(\.network)).sorted().map { n in
            let s = summary(n)
            let mine = points.filter { $0.network == n }
            func within(_ ps: [ValidationPoint]) -> String {
                "\(ps.filter { abs($0.error) <= 0.25 }.count)/\(ps.count)"
            }
            let fit = mine.filter { $0.ranks <= Self.cores }, over = mine.filter { $0.ranks > Self.cores }
            let worst = mine.map { abs($0.error) }.max() ?? 0
            return
                "\(n): \(s.within)/\(s.total) points within 25% of the measured median (P <= \(Self.cores) cores: \(within(fit)); "
                + "P > cores, oversubscribed: \(within(over))), worst \(String(format: "%.0f%%", worst * 100)); "
                + "Tree/Ring order right in \(s.orderRight)/\(s.orders)" + topologyHeadline(n)
        }.joined(separator: "\n")
    }

    /// Two tiers: the headline's words on topology (empty for the other networks).
    func topologyHeadline(_ network: String) -> String {
        guard network == ValidationCampaign.Network.twoTier.rawValue else { return "" }
        let o = topologyOrders()
        return "; fastest method predicted in \(o.fastest)/\(o.cells) (P, N) cells; two-level vs flat order right in "
            + "\(o.twoLevelRight)/\(o.twoLevelCells)"
    }

    /// Median absolute error of the points matching `filter`, as a percentage string.
    func medianError(_ filter: (ValidationPoint) -> Bool) -> String {
        let e = points.filter(filter).map { abs($0.error) }.sorted()
        guard !e.isEmpty else { return "-" }
        return String(format: "%.0f%%", e[e.count / 2] * 100)
    }

    /// The text of docs/validation.md: the setting, the headline, the plot, every point with its prediction, and the
    /// median errors by method that show where the model is off.
    public func markdown() -> String {
        var md = [
            "# The simulator against measured MPI runs", "",
            "<!-- Generated by `\(command)` on \(ISO8601DateFormatter().string(from: Date())). Do not edit by hand: rerun it. -->",
            "",
            "Decode steps (one query token, b = 1, n_h = \(heads), d_h = \(headDim), f64) run by `treeattn-mpi attention --random` "
                + "under `mpirun`, \(repeats) timed runs after one warm-up per point; the step time is the slowest rank's, every run "
                + "starting after a barrier. Each network and rank count is first calibrated (`treeattn-mpi calibrate`), and the "
                + "simulator predicts every point from that cluster file alone (no fitting to the runs): algorithm3 as "
                + "`tree:recursive-doubling` (Open MPI's all-reduce for small messages), binary as `tree-reduce`, ring as `ring-sendrecv`.",
            "",
            "Networks: **shm** is Open MPI's shared memory on this machine (\(HostMachine.cpuModel ?? "CPU"), "
                + "\(ProcessInfo.processInfo.activeProcessorCount) cores; more ranks than cores share them); **netns** is Open MPI over TCP "
                + "on the loopback of a network namespace rate-limited to \(rate) by a token bucket (`tc qdisc ... tbf`, burst 256 KB), "
                + "created and removed by the command: every rank's traffic crosses that one queue, modelled as one shared core link."
                + (points.contains { $0.network == ValidationCampaign.Network.twoTier.rawValue }
                    ? " **two-tier** is \(hosts) hosts emulated as network namespaces (`TwoTierNetwork`), each with its own "
                        + "host name and one veth link to a bridge, rate-limited to \(twoTierRate) each way by a token bucket: "
                        + "ranks on one host use shared memory, ranks on different hosts TCP across both hosts' links; "
                        + "consecutive ranks share a host. Calibrated in two tiers (a star per host joined by each host's "
                        + "measured uplink), and predicted with two-level as `tree-reduce:two-level:G` (G ranks per host), "
                        + "flat as `tree-reduce:flat`."
                    : ""),
            "",
            "## Headline", "",
        ]
        md += headline().split(separator: "\n").map { "- " + $0 }
        md += [
            "", "![predicted vs measured](\(svgName))", "",
            "## Every point", "",
            "| network | P | N | method | measured median | spread (min - max) | predicted | error | measured attention | predicted compute |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in points {
            md.append(
                "| \(p.network) | \(p.ranks) | \(p.keys) | \(p.method) | \(f(p.measured.median)) | \(f(p.measured.min)) - \(f(p.measured.max)) | "
                    + "\(f(p.predicted)) | \(String(format: "%+.0f%%", p.error * 100)) | \(f(p.measuredCompute)) | \(f(p.predictedCompute)) |"
            )
        }
        md += [
            "", "## Where the model is off", "",
            "Median absolute error by method and whether the ranks fit the cores (P <= \(Self.cores)) or share them:",
            "",
            "| network | method | P <= cores | P > cores |", "|---|---|---|---|",
        ]
        for network in Set(points.map(\.network)).sorted() {
            for method in methods where points.contains(where: { $0.network == network && $0.method == method }) {
                md.append(
                    "| \(network) | \(method) | \(medianError { $0.network == network && $0.method == method && $0.ranks <= Self.cores }) | "
                        + "\(medianError { $0.network == network && $0.method == method && $0.ranks > Self.cores }) |")
            }
        }
        md += [
            "",
            "**Known causes.** The calibration measures every rate with all ranks running at once, so cores and memory "
                + "shared by oversubscribed ranks are in the kernel rates; what the model does not have is the operating "
                + "system's scheduling: with more ranks than cores, a rank waiting in a collective spins or sleeps while "
                + "others still compute, and each round of an all-reduce waits for its partner to be scheduled. That cost "
                + "appears as communication time the network model does not predict, largest for Tree (three all-reduces "
                + "of log2 P rounds each, tiny messages) at small N, where the kernels are short. Ring's hops move "
                + "megabytes, so its time is the network's and the model follows it; on shared memory its copies also "
                + "compete with the kernels for memory bandwidth."
                + (points.contains { $0.network == ValidationCampaign.Network.twoTier.rawValue }
                    ? " On two tiers, algorithm3 is Open MPI's tuned all-reduce, predicted as recursive doubling (every "
                        + "round's partner at distance 2^i, the last across the hosts' links); Open MPI picks its algorithm "
                        + "by size and rank count, which the model does not follow. The kernel is calibrated on a large "
                        + "shard (`--decode-keys`) and over-predicted on small ones, which stay in cache (`--kernel-curve` "
                        + "measures the sizes)." : "")
                + " Below, each point outside 25% with the measured attention-kernel time (slowest rank) next to the "
                + "predicted compute, which tells kernel from communication:",
            "",
        ]
        let off = points.filter { abs($0.error) > 0.25 }
        if off.isEmpty {
            md.append("Every point is within 25%.")
        } else {
            for p in off {
                md.append(
                    "- \(p.network), P = \(p.ranks), N = \(p.keys), \(p.method): \(String(format: "%+.0f%%", p.error * 100)); "
                        + "off in \(Self.cause(p)).")
            }
        }
        md += [
            "",
            "Data: the CSV next to this file. Times are wall seconds from `MPI_Wtime`; predictions are the simulator's decode latency.",
        ]
        return md.joined(separator: "\n") + "\n"
    }

    /// Where a point's error comes from: the attention kernel when the kernel's own miss (predicted compute minus the
    /// slowest rank's measured attention time) is at least half the step's miss, in the same direction; communication
    /// and synchronisation otherwise (a kernel off by 300% of 0.1 ms does not explain a step off by 2 ms).
    static func cause(_ p: ValidationPoint) -> String {
        let step = p.predicted - p.measured.median, kernel = p.predictedCompute - p.measuredCompute
        let share = step != 0 ? kernel / step : 0
        let relative = p.measuredCompute > 0 ? kernel / p.measuredCompute : 0
        return share >= 0.5
            ? String(
                format: "the attention kernel (predicted compute %+.0f%% vs measured: %.0f%% of the step's miss)",
                relative * 100, share * 100)
            : String(
                format: "communication and synchronisation (the kernel's miss is %.0f%% of the step's)", share * 100)
    }

    /// Every point as CSV: the setting, measured min/median/max seconds, predicted seconds, relative error, and
    /// measured and predicted compute seconds.
    public func csv() -> String {
        var table = CSVTable(header: [
            "network", "ranks", "keys", "method", "strategy", "measured_min_s", "measured_median_s", "measured_max_s",
            "predicted_s", "error", "measured_attention_s", "predicted_compute_s",
        ])
        for p in points {
            try? table.append([
                p.network, "\(p.ranks)", "\(p.keys)", p.method, p.strategy, "\(p.measured.min)", "\(p.measured.median)",
                "\(p.measured.max)", "\(p.predicted)", "\(p.error)", "\(p.measuredCompute)", "\(p.predictedCompute)",
            ])
        }
        return table.render()
    }

    /// Every point as JSON (sorted keys, pretty-printed), with the headline per network: the same numbers as the
    /// CSV, for tools. A number that is not finite (an error against a zero median) is `null`, so writing never fails.
    public func json() throws -> String {
        struct Point: Encodable {
            var network: String, ranks: Int, keys: Int, method: String, strategy: String
            var measuredMinS: JSONNumber, measuredMedianS: JSONNumber, measuredMaxS: JSONNumber
            var measuredAttentionS: JSONNumber, predictedS: JSONNumber, predictedComputeS: JSONNumber, error: JSONNumber
            enum CodingKeys: String, CodingKey {
                case network, ranks, keys, method, strategy, error
                case measuredMinS = "measured_min_s", measuredMedianS = "measured_median_s", measuredMaxS =
                    "measured_max_s"
                case measuredAttentionS = "measured_attention_s", predictedS = "predicted_s", predictedComputeS =
                    "predicted_compute_s"
            }
        }
        struct Document: Encodable {
            var schemaVersion = 1
            var command: String, heads: Int, headDim: Int, repeats: Int, rate: String, headline: [String],
                points: [Point]
            enum CodingKeys: String, CodingKey {
                case command, heads, repeats, rate, headline, points
                case schemaVersion = "schema_version", headDim = "head_dim"
            }
        }
        let rows = points.map { p in
            Point(
                network: p.network, ranks: p.ranks, keys: p.keys, method: p.method, strategy: p.strategy,
                measuredMinS: JSONNumber(p.measured.min), measuredMedianS: JSONNumber(p.measured.median),
                measuredMaxS: JSONNumber(p.measured.max), measuredAttentionS: JSONNumber(p.measuredCompute),
                predictedS: JSONNumber(p.predicted), predictedComputeS: JSONNumber(p.predictedCompute),
                error: JSONNumber(p.error))
        }
        return try JSONText.pretty(
            Document(
                command: command, heads: heads, headDim: headDim, repeats: repeats, rate: rate,
                headline: headline().split(separator: "\n").map(String.init), points: rows))
    }

    /// The predicted-vs-measured plot (log-log, one line per network and method) as SVG; an empty SVG when no
    /// point can be drawn.
    public func svg() -> String {
        var series: [PlotSeries] = []
        let all = points.flatMap { [$0.measured.median, $0.predicted] }.filter { $0 > 0 }
        if let lo = all.min(), let hi = all.max() {
            series.append(PlotSeries(name: "predicted = measured", points: [(lo, lo), (hi, hi)], colour: 7, dash: 1))
        }
        for (i, network) in Set(points.map(\.network)).sorted().enumerated() {
            for (j, method) in methods.enumerated() {
                let pts = points.filter { $0.network == network && $0.method == method }
                    .map { (x: $0.measured.median, y: $0.predicted) }.sorted { $0.x < $1.x }
                if !pts.isEmpty {
                    series.append(PlotSeries(name: "\(network) \(method)", points: pts, colour: j, dash: i * 2))
                }
            }
        }
        guard
            let plot = try? LinePlot(
                title: "Predicted vs measured decode step", xLabel: "measured median (s)", xScale: .log,
                yLabel: "predicted (s)", yScale: .log, series: series,
                caption: "Each line joins one network's points of one method, sorted by measured time.")
        else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"
        }
        return plot.render()
    }
}
