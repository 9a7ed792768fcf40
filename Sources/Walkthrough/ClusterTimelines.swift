import Simulator

/// The cluster view of `treeattn explain --html`: one decode step of Tree and Ring Attention simulated on a grid of
/// presets, GPU counts and sequence lengths, with each GPU's timeline (compute, overhead, communication, idle) and
/// the bytes each link class carried. The site only draws these; it does not simulate.
public struct ClusterTimelines: Codable, Sendable {
    /// The grid the site offers.
    public struct Grid: Codable, Sendable {
        /// Presets with 8 GPUs per node (a grid point's cluster is "PRESET:GPUS/8").
        public var presets = ["dgx-h100", "dgx-a100", "dgx-b200"]
        /// GPU counts (multiples of 8).
        public var gpus = [8, 16, 32, 64]
        /// Sequence lengths (tokens of K/V).
        public var sequenceLengths = [160_000, 640_000, 2_560_000]
        /// The model's attention heads.
        public var modelHeads = 16
        /// The model's head dimension.
        public var modelHeadDim = 128

        /// The defaults: 3 presets x 4 GPU counts x 3 lengths, 16 x 128 heads.
        public init() {}
    }

    /// One strategy's simulated step.
    public struct Run: Codable, Sendable {
        /// "tree" or "ring".
        public var strategy: String
        /// The step's latency, picoseconds.
        public var latency: Int64
        /// Mean time per GPU in each activity (compute, overhead, communication, idle), picoseconds.
        public var activity: [Double]
        /// Mean elements sent per GPU.
        public var elementsSentPerDevice: Double
        /// Bytes carried per link class (name, bytes), in the network's order.
        public var linkBytes: [LinkBytes]
        /// Each GPU's timeline as (activity, end) pairs flattened: activity is `RankTimeline.Activity.rawValue`
        /// (0 compute, 1 overhead, 2 communication, 3 idle), end in picoseconds; each segment starts where the
        /// previous one ended (the first at 0), the last ends at `latency`.
        public var timelines: [[Int64]]
    }

    /// Bytes one link class carried.
    public struct LinkBytes: Codable, Sendable {
        /// The class's name (e.g. "nvlink", "infiniband").
        public var name: String
        /// The bytes, summed over its links.
        public var bytes: Double
    }

    /// One grid point.
    public struct Case: Codable, Sendable {
        /// The preset.
        public var preset: String
        /// The cluster simulated, "PRESET:NODES".
        public var cluster: String
        /// GPUs.
        public var gpus: Int
        /// Sequence length.
        public var seqLen: Int
        /// Tree, then ring.
        public var runs: [Run]
    }

    /// The grid.
    public var grid: Grid
    /// Every point, presets outermost, then GPUs, then lengths.
    public var cases: [Case]

    /// Simulates every point of `grid` (the same model as `Walkthrough`'s costs: tree with the tree all-reduce and
    /// the overlapped ring, forward step, idealised), calling `progress(done, total)` after each.
    public init(grid: Grid = Grid(), progress: (Int, Int) -> Void = { _, _ in }) throws {
        self.grid = grid
        var cases: [Case] = []
        let total = grid.presets.count * grid.gpus.count * grid.sequenceLengths.count
        for preset in grid.presets {
            for gpus in grid.gpus {
                guard gpus > 0, gpus % 8 == 0 else {
                    throw SimulatorError.invalidArgument("the explainer's GPU counts are multiples of 8, got \(gpus)")
                }
                let name = "\(preset):\(gpus / 8)"
                let cluster = try Cluster.resolve(name)
                for seqLen in grid.sequenceLengths {
                    let workload = try DecodeWorkload(
                        sequenceLength: seqLen, heads: grid.modelHeads, headDim: grid.modelHeadDim)
                    let reports = try DecodeModel(cluster: cluster, workload: workload)
                        .compare([.tree(collective: .tree), .ring(overlap: true)])
                    cases.append(
                        Case(
                            preset: preset, cluster: name, gpus: gpus, seqLen: seqLen,
                            runs: try reports.map(Self.run)))
                    progress(cases.count, total)
                }
            }
        }
        self.cases = cases
    }

    /// A report's run, its timelines from the recorded execution.
    static func run(_ r: DecodeReport) throws -> Run {
        guard let execution = r.execution else {
            throw SimulatorError.invalidArgument("the explainer needs a recorded run of \(r.strategy)")
        }
        let timeline = RankTimeline(execution, ranks: r.gpus)
        return Run(
            strategy: r.strategy, latency: r.latency.picoseconds,
            activity: RankTimeline.Activity.allCases.map { timeline.meanPicoseconds($0) },
            elementsSentPerDevice: r.elementsSentPerDevice,
            linkBytes: r.bytesPerLinkClass.map { LinkBytes(name: $0.name, bytes: $0.bytes) },
            timelines: timeline.ranks.map { segments in
                segments.flatMap { [Int64($0.activity.rawValue), $0.end.picoseconds] }
            })
    }
}
