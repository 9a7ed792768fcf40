import Foundation
import Simulator

/// One measured point of a validation (`treeattn-mpi validate`, `bench`) and the simulator's prediction of it: a
/// decode step run under mpirun, read from its `--report` JSON, and the same step simulated on the calibrated cluster.
public struct ValidationPoint: Sendable {
    /// The network, "shm", "netns" or "two-tier".
    public let network: String
    /// The MPI rank count P.
    public let ranks: Int
    /// The key count N of the decode step.
    public let keys: Int
    /// The distributed reduction measured (`treeattn-mpi attention --reduction` value).
    public let method: String
    /// Step time over the timed runs (the slowest rank, each run after a barrier).
    public let measured: (min: Double, median: Double, max: Double)
    /// The slowest rank's median time in attention kernels (all hops for the ring).
    public let measuredCompute: Double
    /// The simulator's latency for the step, in seconds (0 until `predict`).
    public var predicted = 0.0
    /// The simulator's compute time for the step, in seconds (0 until `predict`).
    public var predictedCompute = 0.0
    /// The name of the strategy simulated (`DecodeStrategy.description`; empty until `predict`).
    public var strategy = ""

    /// The fields of a `treeattn-mpi attention --report` this point reads (an independent reader of that schema).
    struct Report: Decodable {
        struct Stats: Decodable { var min: Double, median: Double, max: Double }
        struct Phase: Decodable { var name: String, seconds: Stats }
        struct Rank: Decodable { var phases: [Phase] }
        var stepSeconds: Stats
        var perRank: [Rank]
        enum CodingKeys: String, CodingKey {
            case stepSeconds = "step_seconds", perRank = "per_rank"
        }
    }

    /// A point from the report file at `path`.
    public init(network: String, ranks: Int, keys: Int, method: String, report path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StudyError.file(path: path, problem: "cannot read the report")
        }
        try self.init(network: network, ranks: ranks, keys: keys, method: method, report: data, origin: path)
    }

    /// A point from a report's JSON bytes (`origin` names it in errors).
    public init(network: String, ranks: Int, keys: Int, method: String, report data: Data, origin: String) throws {
        (self.network, self.ranks, self.keys, self.method) = (network, ranks, keys, method)
        guard let report = try? JSONDecoder().decode(Report.self, from: data) else {
            throw StudyError.file(path: origin, problem: "not a treeattn-mpi report")
        }
        measured = (report.stepSeconds.min, report.stepSeconds.median, report.stepSeconds.max)
        measuredCompute =
            report.perRank.map { rank in
                rank.phases.filter { $0.name.contains("attention") }.reduce(0.0) { $0 + $1.seconds.median }
            }.max() ?? 0
    }

    /// The simulator's decode strategy for each measured method, with `groupSize` ranks per host (`two-level`).
    public static func strategy(_ method: String, groupSize: Int) throws -> DecodeStrategy {
        switch method {
        case "two-level": return .treeReduce(.twoLevel(groupSize: groupSize))
        case "flat": return .treeReduce(.flat)
        case "algorithm3": return .tree(collective: .recursiveDoubling)
        case "binary": return .treeReduce(.binary)
        case "ring": return .ringSendrecv
        case "merge-op": return .tree(collective: .recursiveDoubling)
        case "pass-partials": return .passPartials
        default: throw StudyError.invalidArgument("no simulator strategy for '\(method)'")
        }
    }

    /// Simulates the point on `cluster` (a calibrated cluster file) with its overheads.
    public mutating func predict(cluster: Cluster, heads: Int, headDim: Int) throws {
        let workload = try DecodeWorkload(sequenceLength: keys, heads: heads, headDim: headDim, dtype: "f64")
        let s = try Self.strategy(method, groupSize: cluster.serverGroups.first?.count ?? ranks)
        let report = try DecodeModel(cluster: cluster, workload: workload, options: DecodeOptions(cluster: cluster))
            .run(s, recording: true)
        predicted = report.latency.seconds
        predictedCompute = report.compute.seconds
        strategy = s.description
    }

    /// Relative error of the prediction against the measured median.
    public var error: Double { (predicted - measured.median) / measured.median }
}
