import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn-mpi bench`: one decode step's combine (everything but the attention kernels) for each reduction at
/// P = 2 and 4 on this machine's shared memory, next to the simulator's prediction from a calibration made in the
/// same run. Build with -c release.
struct MPIBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure each reduction's combine in a decode step at P = 2 and 4, next to the simulator's prediction.")

    @Option(help: "Rank counts.") var ranks = "2,4"
    @Option(help: "Reductions.") var reductions = "algorithm3,merge-op,binary,ring"
    @Option(help: "Keys N of the decode step.") var keys = 65536
    @Option(help: "Query heads.") var heads = 16
    @Option(help: "Head dim.") var headDim = 32
    @Option(help: "Timed runs per point (after one warm-up).") var repeats = 20
    @Option(help: "The treeattn-mpi binary to launch (default: this one).") var binary: String?

    func run() throws {
        let me = binary ?? CommandLine.arguments[0]
        let work = NSTemporaryDirectory() + "treeattn-bench-mpi-\(getpid())"
        try createFolder(work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        print("treeattn-mpi bench: decode step, N = \(keys), b = 1, n_h = \(heads), d_h = \(headDim), f64, shared memory; medians of \(repeats) runs")
        print("combine = step time minus the slowest rank's attention-kernel time; predicted from `treeattn-mpi calibrate` run just before\n")
        var rows: [[String]] = []
        for p in try parseList(ranks, "--ranks", { try parseCount($0) }) {
            let launch = ["mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", "\(p)", me]
            let calibration = work + "/cal-\(p).yaml"
            try ValidateCommand.execute(launch + ["calibrate", "--quiet", "--out", calibration, "--heads", "\(heads)", "--head-dim", "\(headDim)"])
            let cluster = try ClusterFile.load(path: calibration)
            for method in try parseList(reductions, "--reductions", { $0 }) {
                let report = work + "/report.json"
                try ValidateCommand.execute(launch + ["attention", "--random", "--seq-q", "1", "--seq-k", "\(keys)", "--heads", "\(heads)",
                                                      "--head-dim", "\(headDim)", "--reduction", method, "--repeat", "\(repeats)",
                                                      "--warmup", "1", "--report", report])
                var point = try ValidationPoint(network: "shm", ranks: p, keys: keys, method: method, report: report)
                try point.predict(cluster: cluster, heads: heads, headDim: headDim)
                let measured = point.measured.median - point.measuredCompute, predicted = point.predicted - point.predictedCompute
                func us(_ x: Double) -> String { String(format: "%.1f us", x * 1e6) }
                rows.append(["\(p)", method, point.strategy, us(point.measured.median), us(measured), us(predicted),
                             String(format: "%.2f", predicted / max(measured, 1e-12))])
            }
        }
        print(renderTable(["P", "reduction", "simulated as", "step", "combine (measured)", "combine (predicted)", "predicted/measured"], rows))
    }
}
