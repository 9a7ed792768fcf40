import ArgumentParser
import CLICommon
import Foundation
import Reference
import Simulator
import Studies

/// `treeattn sweep`: decode latency over sequence lengths x GPU counts x strategies, peak memory over hidden sizes;
/// writes CSV tables and SVG plots (docs/sweep.md).
struct SweepCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep decode latency and memory; write CSV and SVG plots.",
        discussion: """
            Writes into --out: sweep.csv (one row per GPU count x sequence length x strategy, every report field),
            latency.svg, speedup.svg, and with --hidden-sizes memory.csv and memory.svg. Overheads default to the
            cluster file's calibrated `overheads:` if it has them, else to zero (idealised); an option given overrides
            the file. Columns and the overhead model: docs/sweep.md.
            """)

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

    @Option(name: .long, help: "Output directory (created if missing).")
    var out: String = "sweep-out"

    @OptionGroup var overheads: DecodeOverheadOptions

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    @OptionGroup var memory: MemoryOptions

    func configuration() throws -> SweepConfiguration {
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

    func run() throws {
        let c = try configuration()
        // Every file is checked and reserved before the sweep runs; they appear together at the end (each under a
        // temporary name until all are written), or not at all.
        let outputs = try AtomicOutputs(
            Sweep.fileNames(c).map { (out as NSString).appendingPathComponent($0) }, createFolders: true)
        defer { outputs.discard() }
        let bar = ProgressBar(title: "sweep", enabled: !quiet)
        defer { bar.close() }
        let result = try Sweep.run(c) { bar.update($0, $1, $2) }
        let files = try Sweep.files(result)
        for f in files { try outputs.write(f.contents, to: (out as NSString).appendingPathComponent(f.name)) }
        try outputs.commit()
        bar.close()
        print(
            "wrote \(files.map { (out as NSString).appendingPathComponent($0.name) }.joined(separator: ", ")) (\(result.points.count) points)"
        )
    }
}
