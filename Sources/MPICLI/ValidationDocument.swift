import CLICommon
import Foundation
import Simulator
import Studies

/// One measured point of `treeattn-mpi validate` and the simulator's prediction of it.
struct ValidationPoint {
    let network: String, ranks: Int, keys: Int, method: String
    /// Step time over the timed runs (the slowest rank, each run after a barrier).
    let measured: (min: Double, median: Double, max: Double)
    /// The slowest rank's median time in attention kernels (all hops for the ring).
    let measuredCompute: Double
    var predicted = 0.0, predictedCompute = 0.0
    var strategy = ""

    init(network: String, ranks: Int, keys: Int, method: String, report path: String) throws {
        self.network = network
        self.ranks = ranks
        self.keys = keys
        self.method = method
        guard let data = FileManager.default.contents(atPath: path),
              let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let step = root["step_seconds"] as? [String: Double], let perRank = root["per_rank"] as? [[String: Any]] else {
            throw CLIError("\(path): not a treeattn-mpi report")
        }
        measured = (step["min"] ?? 0, step["median"] ?? 0, step["max"] ?? 0)
        measuredCompute = perRank.map { rank in
            (rank["phases"] as? [[String: Any]] ?? []).filter { ($0["name"] as? String ?? "").contains("attention") }
                .reduce(0.0) { $0 + ((($1["seconds"] as? [String: Double])?["median"]) ?? 0) }
        }.max() ?? 0
    }

    /// The simulator's decode strategy for each measured method.
    static func strategy(_ method: String) throws -> DecodeStrategy {
        switch method {
        case "algorithm3": return .tree(collective: .recursiveDoubling)
        case "binary": return .treeReduce(.binary)
        case "ring": return .ringSendrecv
        case "merge-op": return .tree(collective: .recursiveDoubling)
        case "pass-partials": return .passPartials
        default: throw CLIError("no simulator strategy for '\(method)'")
        }
    }

    mutating func predict(cluster: Cluster, heads: Int, headDim: Int) throws {
        let workload = try DecodeWorkload(sequenceLength: keys, heads: heads, headDim: headDim, dtype: "f64")
        let s = try Self.strategy(method)
        let report = try DecodeModel(cluster: cluster, workload: workload, options: DecodeOptions(cluster: cluster)).run(s, recording: true)
        predicted = report.latency.seconds
        predictedCompute = report.compute.seconds
        strategy = s.description
    }

    /// Relative error of the prediction against the measured median.
    var error: Double { (predicted - measured.median) / measured.median }
}

/// docs/validation.md and its CSV and SVG: every point, the headline numbers, where the model is off.
struct ValidationDocument {
    let points: [ValidationPoint]
    let command: String
    let heads: Int, headDim: Int, repeats: Int
    let rate: String
    let svgName: String

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
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    func headline() -> String {
        Set(points.map(\.network)).sorted().map { n in
            let s = summary(n)
            let mine = points.filter { $0.network == n }
            func within(_ ps: [ValidationPoint]) -> String { "\(ps.filter { abs($0.error) <= 0.25 }.count)/\(ps.count)" }
            let fit = mine.filter { $0.ranks <= Self.cores }, over = mine.filter { $0.ranks > Self.cores }
            let worst = mine.map { abs($0.error) }.max() ?? 0
            return "\(n): \(s.within)/\(s.total) points within 25% of the measured median (P <= \(Self.cores) cores: \(within(fit)); "
                + "P > cores, oversubscribed: \(within(over))), worst \(String(format: "%.0f%%", worst * 100)); "
                + "Tree/Ring order right in \(s.orderRight)/\(s.orders)"
        }.joined(separator: "\n")
    }

    /// Median absolute error of the points matching `filter`, as a percentage string.
    func medianError(_ filter: (ValidationPoint) -> Bool) -> String {
        let e = points.filter(filter).map { abs($0.error) }.sorted()
        guard !e.isEmpty else { return "-" }
        return String(format: "%.0f%%", e[e.count / 2] * 100)
    }

    func markdown() -> String {
        var md = ["# The simulator against measured MPI runs", "",
                  "<!-- Generated by `\(command)` on \(ISO8601DateFormatter().string(from: Date())). Do not edit by hand: rerun it. -->", "",
                  "Decode steps (one query token, b = 1, n_h = \(heads), d_h = \(headDim), f64) run by `treeattn-mpi attention --random` "
                  + "under `mpirun`, \(repeats) timed runs after one warm-up per point; the step time is the slowest rank's, every run "
                  + "starting after a barrier. Each network and rank count is first calibrated (`treeattn-mpi calibrate`), and the "
                  + "simulator predicts every point from that cluster file alone (no fitting to the runs): algorithm3 as "
                  + "`tree:recursive-doubling` (Open MPI's all-reduce for small messages), binary as `tree-reduce`, ring as `ring-sendrecv`.", "",
                  "Networks: **shm** is Open MPI's shared memory on this machine (\(CalibratedCluster.cpuModel), "
                  + "\(ProcessInfo.processInfo.activeProcessorCount) cores; more ranks than cores share them); **netns** is Open MPI over TCP "
                  + "on the loopback of a network namespace rate-limited to \(rate) by a token bucket (`tc qdisc ... tbf`, burst 256 KB), "
                  + "created and removed by the command: every rank's traffic crosses that one queue, modelled as one shared core link.", "",
                  "## Headline", ""]
        md += headline().split(separator: "\n").map { "- " + $0 }
        md += ["", "![predicted vs measured](\(svgName))", "",
               "## Every point", "",
               "| network | P | N | method | measured median | spread (min - max) | predicted | error | measured attention | predicted compute |",
               "|---|---|---|---|---|---|---|---|---|---|"]
        for p in points {
            md.append("| \(p.network) | \(p.ranks) | \(p.keys) | \(p.method) | \(f(p.measured.median)) | \(f(p.measured.min)) - \(f(p.measured.max)) | "
                      + "\(f(p.predicted)) | \(String(format: "%+.0f%%", p.error * 100)) | \(f(p.measuredCompute)) | \(f(p.predictedCompute)) |")
        }
        md += ["", "## Where the model is off", "",
               "Median absolute error by method and whether the ranks fit the cores (P <= \(Self.cores)) or share them:", "",
               "| network | method | P <= cores | P > cores |", "|---|---|---|---|"]
        for network in Set(points.map(\.network)).sorted() {
            for method in ["algorithm3", "binary", "ring"] where points.contains(where: { $0.network == network && $0.method == method }) {
                md.append("| \(network) | \(method) | \(medianError { $0.network == network && $0.method == method && $0.ranks <= Self.cores }) | "
                          + "\(medianError { $0.network == network && $0.method == method && $0.ranks > Self.cores }) |")
            }
        }
        md += ["",
               "**Known causes.** The calibration measures every rate with all ranks running at once, so cores and memory "
               + "shared by oversubscribed ranks are in the kernel rates; what the model does not have is the operating "
               + "system's scheduling: with more ranks than cores, a rank waiting in a collective spins or sleeps while "
               + "others still compute, and each round of an all-reduce waits for its partner to be scheduled. That cost "
               + "appears as communication time the network model does not predict, largest for Tree (three all-reduces "
               + "of log2 P rounds each, tiny messages) at small N, where the kernels are short. Ring's hops move "
               + "megabytes, so its time is the network's and the model follows it; on shared memory its copies also "
               + "compete with the kernels for memory bandwidth. Below, each point outside 25% with the measured "
               + "attention-kernel time (slowest rank) next to the predicted compute, which tells kernel from communication:", ""]
        let off = points.filter { abs($0.error) > 0.25 }
        if off.isEmpty {
            md.append("Every point is within 25%.")
        } else {
            for p in off {
                let kernel = p.measuredCompute > 0 ? (p.predictedCompute - p.measuredCompute) / p.measuredCompute : 0
                let cause = abs(kernel) > 0.25 ? String(format: "the attention kernel (predicted compute %+.0f%% vs measured)", kernel * 100)
                                               : "communication and synchronisation (the kernel is predicted within 25%)"
                md.append("- \(p.network), P = \(p.ranks), N = \(p.keys), \(p.method): \(String(format: "%+.0f%%", p.error * 100)); off in \(cause).")
            }
        }
        md += ["", "Data: the CSV next to this file. Times are wall seconds from `MPI_Wtime`; predictions are the simulator's decode latency."]
        return md.joined(separator: "\n") + "\n"
    }

    func csv() -> String {
        var table = CSVTable(header: ["network", "ranks", "keys", "method", "strategy", "measured_min_s", "measured_median_s", "measured_max_s",
                                      "predicted_s", "error", "measured_attention_s", "predicted_compute_s"])
        for p in points {
            try? table.append([p.network, "\(p.ranks)", "\(p.keys)", p.method, p.strategy, "\(p.measured.min)", "\(p.measured.median)",
                               "\(p.measured.max)", "\(p.predicted)", "\(p.error)", "\(p.measuredCompute)", "\(p.predictedCompute)"])
        }
        return table.render()
    }

    func svg() -> String {
        var series: [PlotSeries] = []
        let all = points.flatMap { [$0.measured.median, $0.predicted] }.filter { $0 > 0 }
        if let lo = all.min(), let hi = all.max() {
            series.append(PlotSeries(name: "predicted = measured", points: [(lo, lo), (hi, hi)], colour: 7, dash: 1))
        }
        for (i, network) in Set(points.map(\.network)).sorted().enumerated() {
            for (j, method) in ["algorithm3", "binary", "ring"].enumerated() {
                let pts = points.filter { $0.network == network && $0.method == method }
                    .map { (x: $0.measured.median, y: $0.predicted) }.sorted { $0.x < $1.x }
                if !pts.isEmpty { series.append(PlotSeries(name: "\(network) \(method)", points: pts, colour: j, dash: i * 2)) }
            }
        }
        guard let plot = try? LinePlot(title: "Predicted vs measured decode step", xLabel: "measured median (s)", xScale: .log,
                                       yLabel: "predicted (s)", yScale: .log, series: series,
                                       caption: "Each line joins one network's points of one method, sorted by measured time.") else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"
        }
        return plot.render()
    }
}
