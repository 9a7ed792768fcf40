import Foundation
import Simulator

/// The runs behind docs/validation.md (`treeattn-mpi validate`): for each network and rank count, `treeattn-mpi
/// calibrate` writes a cluster file, then every (N, method) point runs `treeattn-mpi attention --random` (decode: one
/// query) with `repeats` timed runs after a warm-up, and the simulator predicts it from the cluster file alone.
/// Processes start through `launch`, so the campaign's logic runs in tests with a fake launcher.
public struct ValidationCampaign {
    /// The networks: Open MPI's shared memory, or TCP on a rate-limited network namespace.
    public enum Network: String, CaseIterable, Sendable {
        /// Open MPI's shared-memory transport between ranks on this machine.
        case shm
        /// TCP over loopback inside a network namespace rate-limited to `rate`.
        case netns
        /// Two tiers: `hosts` hosts as network namespaces (`TwoTierNetwork`), shared memory inside a host and TCP
        /// over links rate-limited to `twoTierRate` between hosts.
        case twoTier = "two-tier"
    }

    /// Networks measured.
    public var networks: [Network] = [.shm, .netns]
    /// MPI rank counts measured on each network.
    public var ranks = [2, 4, 8]
    /// Key counts N measured on shm.
    public var keys = [16_384, 65_536, 262_144, 1_048_576, 4_194_304]
    /// Key counts N measured on netns (fewer: the rate-limited network is slow).
    public var netnsKeys = [16_384, 65_536, 262_144, 1_048_576]
    /// Distributed reductions measured (`treeattn-mpi attention --reduction` values).
    public var methods = ["algorithm3", "binary", "ring"]
    /// Two tiers: the number of hosts (every rank count must be a multiple of it).
    public var hosts = 2
    /// Two tiers: key counts N.
    public var twoTierKeys = [4096, 16_384, 65_536, 262_144]
    /// Two tiers: the reductions measured (the topology-aware tree, the flat tree, Open MPI's all-reduce, the ring).
    public var twoTierMethods = ["two-level", "flat", "algorithm3", "ring"]
    /// Two tiers: the rate of each host's link, each way (tc tbf syntax).
    public var twoTierRate = "100mbit"
    /// Whether each calibration also measures the decode kernel's curve over shard sizes (`calibrate --kernel-curve`),
    /// which then times the predictions' kernels.
    public var kernelCurve = false
    /// Query heads of the decode shape.
    public var heads = 2
    /// Head dimension of the decode shape.
    public var headDim = 16
    /// Timed runs per point (after one warm-up).
    public var repeats = 3
    /// The emulated network's rate (tc tbf syntax).
    public var rate = "1gbit"
    /// The `treeattn-mpi` binary to launch.
    public var binary: String

    /// A campaign of `binary` with the defaults of docs/validation.md.
    public init(binary: String) { self.binary = binary }

    /// Runs every point, calibrating and reporting in `work` (a scratch folder); `say` gets progress lines.
    public func run(
        in work: String, launch: @escaping CommandLauncher.Launch = CommandLauncher.run,
        say: (String) -> Void = { _ in }
    ) throws -> [ValidationPoint] {
        var points: [ValidationPoint] = []
        for network in networks {
            if network == .twoTier, let p = ranks.first(where: { $0 < hosts || $0 % hosts != 0 }) {
                throw StudyError.invalidArgument("two-tier: \(p) ranks do not fill \(hosts) hosts equally")
            }
            let namespace = network == .netns ? try NetworkNamespace(rate: rate, launch: launch) : nil
            defer { namespace?.remove() }
            let mca =
                network == .netns
                ? [
                    "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include",
                    "lo",
                ] : []
            for p in ranks {
                let twoTier =
                    network == .twoTier
                    ? try TwoTierNetwork(
                        hosts: hosts, slots: p / hosts, rate: twoTierRate, folder: work, launch: launch) : nil
                defer { twoTier?.remove() }
                let mpirun =
                    (twoTier?.mpirun(ranks: p)
                        ?? (namespace?.prefix ?? []) + [
                            "mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", "\(p)",
                        ]
                            + mca)
                    + [binary]
                let calibration = work + "/\(network.rawValue)-\(p).yaml"
                say("\(network.rawValue), \(p) ranks: calibrating")
                try launch(
                    mpirun + [
                        "calibrate", "--quiet", "--out", calibration, "--heads", "\(heads)", "--head-dim", "\(headDim)",
                        "--max-message", network == .shm ? "\(16 << 20)" : "\(4 << 20)",
                    ] + (kernelCurve ? ["--kernel-curve"] : []))
                let cluster = try ClusterFile.load(path: calibration)
                let grid =
                    network == .twoTier
                    ? (twoTierKeys, twoTierMethods) : (network == .netns ? netnsKeys : keys, methods)
                for n in grid.0 {
                    for method in grid.1 {
                        say("\(network.rawValue), \(p) ranks, N = \(n), \(method)")
                        points.append(
                            try Self.measure(
                                mpirun, network: network.rawValue, ranks: p, keys: n, method: method,
                                heads: heads, headDim: headDim, repeats: repeats, cluster: cluster,
                                work: work, launch: launch))
                    }
                }
            }
        }
        return points
    }

    /// One point: `mpirun` runs the decode step with a report (inputs from `seed`, or `treeattn-mpi`'s default seed
    /// when nil), the point reads it and the simulator predicts it.
    public static func measure(
        _ mpirun: [String], network: String, ranks: Int, keys: Int, method: String, heads: Int,
        headDim: Int, repeats: Int, seed: UInt64? = 1, cluster: Cluster, work: String,
        launch: CommandLauncher.Launch
    ) throws -> ValidationPoint {
        let report = work + "/report.json"
        defer { try? FileManager.default.removeItem(atPath: report) }
        try launch(
            mpirun + [
                "attention", "--random", "--seq-q", "1", "--seq-k", "\(keys)", "--heads", "\(heads)",
                "--head-dim", "\(headDim)",
            ] + (seed.map { ["--seed", "\($0)"] } ?? []) + [
                "--reduction", method, "--repeat", "\(repeats)", "--warmup", "1", "--report", report,
            ])
        var point = try ValidationPoint(network: network, ranks: ranks, keys: keys, method: method, report: report)
        try point.predict(cluster: cluster, heads: heads, headDim: headDim)
        return point
    }
}
