import ArgumentParser
import CLICommon
import Simulator
import Studies

/// The options of a decode sweep (`treeattn sweep`, `treeattn-mpi sweep`): cluster, sequence lengths x GPU counts x
/// strategies, the workload, hidden sizes for the memory plot, the output folder and the overheads.
public struct SweepOptions: ParsableArguments {
    /// The options at their defaults (ArgumentParser fills them in).
    public init() {}

    @Option(
        name: .long, help: "Preset (\(ClusterPreset.usage)) or a YAML/JSON cluster file; must hold the largest --gpus.")
    var cluster: String

    @Option(name: .long, help: "Comma-separated sequence lengths N (e.g. 80000,160000 or 80k,1.28M).")
    var seqLens: String

    @Option(name: .long, help: "Comma-separated GPU counts (the first N GPUs of the cluster).")
    var gpus: String

    @Option(name: .long, help: "Comma-separated strategies (\(DecodeStrategy.usage)).")
    var strategy: String = "tree,ring"

    @OptionGroup var workload: DecodeWorkloadOptions<SweepModelShape>

    @Option(
        name: .long,
        help:
            "Comma-separated hidden sizes d for the memory plot (\"\" for none; default 2048,4096, none with --model).")
    var hiddenSizes: String?

    /// --out: the output folder (created if missing).
    @Option(name: .long, help: "Output directory (created if missing).")
    public var out: String = "sweep-out"

    @OptionGroup var overheads: DecodeOverheadOptions

    /// The validated sweep configuration the options describe.
    public func configuration() throws -> SweepConfiguration {
        let strategies = try parseList(strategy, "--strategy") { try DecodeStrategy.parse($0) }
        var c = SweepConfiguration(
            cluster: cluster, sequenceLengths: try parseList(seqLens, "--seq-lens", parseCount),
            gpuCounts: try parseList(gpus, "--gpus", parseCount), strategies: strategies)
        (c.heads, c.kvHeads, c.headDim, c.batch, c.dtype) = (
            workload.resolvedHeads, workload.kvHeads, workload.resolvedHeadDim, workload.batch, workload.dtype
        )
        (c.valueDim, c.latentKV) = (workload.valueDim, workload.latentKV)
        if let model = workload.model { c.use(try ModelAttention.named(model)) }
        let sizes = hiddenSizes ?? (workload.model == nil ? "2048,4096" : "")
        c.hiddenSizes =
            sizes.trimmingCharacters(in: .whitespaces).isEmpty ? [] : try parseList(sizes, "--hidden-sizes", parseCount)
        c.options = try overheads.decodeOptions(for: try Cluster.resolve(cluster))
        try c.validate()
        return c
    }
}
