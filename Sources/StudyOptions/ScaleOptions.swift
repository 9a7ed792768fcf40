import ArgumentParser
import CLICommon
import Simulator
import Studies

/// The options of the datacenter-scale study (`treeattn scale`, `treeattn-mpi scale`): GPU counts, sequence lengths,
/// the gather limit, the output folder and the overheads.
public struct ScaleOptions: ParsableArguments {
    /// The options at their defaults (ArgumentParser fills them in).
    public init() {}

    /// --out: the folder for scale.md and scale/.
    @Option(name: .long, help: "Folder for scale.md and scale/ (created if missing).")
    public var out: String = "docs"

    @Option(
        name: .long,
        help: "Comma-separated GPU counts (multiples of 8 up to 65536; each on dgx-h100-3tier with p/8 servers).")
    var gpus: String = "8,64,512,4096,16384,65536"

    @Option(name: .long, help: "Comma-separated sequence lengths N (e.g. 1M,10M,100M).")
    var seqLens: String = "1M,10M,100M"

    @Option(name: .long, help: "Largest GPU count at which gather is simulated (its incast costs p^2).")
    var gatherLimit: Int = 4096

    @OptionGroup var overheads: DecodeOverheadOptions

    /// The validated study configuration the options describe.
    public func configuration() throws -> ScaleStudy.Configuration {
        var c = ScaleStudy.Configuration()
        c.gpuCounts = try parseList(gpus, "--gpus", parseCount)
        c.sequenceLengths = try parseList(seqLens, "--seq-lens", parseCount)
        c.gatherLimit = gatherLimit
        try c.validate()
        c.options = try overheads.decodeOptions(for: try Cluster.resolve("dgx-h100-3tier:1"))
        return c
    }
}
