import Foundation
import Simulator
import Studies

/// `treeattn-mpi bench`: one decode step's combine (the step time minus the slowest rank's attention kernels) for each
/// distributed reduction at a few rank counts on this machine's shared memory, next to the simulator's prediction
/// from a calibration made in the same run. Processes start through `launch` (mpirun), as in `ValidationCampaign`.
public struct CombineBench {
    /// MPI rank counts measured.
    public var ranks = [2, 4]
    /// Distributed reductions measured (`treeattn-mpi attention --reduction` values).
    public var reductions = ["algorithm3", "merge-op", "binary", "ring"]
    /// Keys N of the decode step.
    public var keys = 65_536
    /// Query heads n_h of the decode step.
    public var heads = 16
    /// Head dimension d_h of the decode step.
    public var headDim = 32
    /// Timed runs per point (after one warm-up).
    public var repeats = 20
    /// The `treeattn-mpi` binary to launch.
    public var binary: String

    /// A benchmark of `binary` with the defaults of `make bench`.
    public init(binary: String) { self.binary = binary }

    /// The two heading lines.
    public var heading: String {
        "treeattn-mpi bench: decode step, N = \(keys), b = 1, n_h = \(heads), d_h = \(headDim), f64, shared memory; medians of \(repeats) runs\n"
            + "combine = step time minus the slowest rank's attention-kernel time; predicted from `treeattn-mpi calibrate` run just before\n"
    }

    /// Measures every point in `work` (a scratch folder) and returns the table.
    public func run(in work: String, launch: @escaping CommandLauncher.Launch = CommandLauncher.run) throws -> String {
        var rows: [[String]] = []
        for p in ranks {
            let mpirun = ["mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", "\(p)", binary]
            let calibration = work + "/cal-\(p).yaml"
            try launch(
                mpirun + [
                    "calibrate", "--quiet", "--out", calibration, "--heads", "\(heads)", "--head-dim", "\(headDim)",
                ])
            let cluster = try ClusterFile.load(path: calibration)
            for method in reductions {
                let point = try ValidationCampaign.measure(
                    mpirun, network: "shm", ranks: p, keys: keys, method: method, heads: heads,
                    headDim: headDim, repeats: repeats, seed: nil, cluster: cluster, work: work, launch: launch)
                let measured = point.measured.median - point.measuredCompute,
                    predicted = point.predicted - point.predictedCompute
                func us(_ x: Double) -> String { String(format: "%.1f us", x * 1e6) }
                rows.append([
                    "\(p)", method, point.strategy, us(point.measured.median), us(measured), us(predicted),
                    String(format: "%.2f", predicted / max(measured, 1e-12)),
                ])
            }
        }
        return renderTable(
            [
                "P", "reduction", "simulated as", "step", "combine (measured)", "combine (predicted)",
                "predicted/measured",
            ], rows)
    }
}
