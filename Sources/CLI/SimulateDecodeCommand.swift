import ArgumentParser
import CLICommon
import Foundation
import Simulator
import StudyOptions

/// `treeattn simulate decode`: one decode step under several strategies, with breakdowns, volumes and memory.
struct SimulateDecodeCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Simulate one decode step: Tree vs Ring Attention and the alternatives.",
        discussion: """
            Strategies: \(DecodeStrategy.usage). tree:ALG picks the all-reduce algorithm (\(CollectiveAlgorithm.usage)).
            Overheads default to the cluster file's calibrated `overheads:` if it has them, else to zero (idealised);
            every one is an explicit option that overrides the file. --backward (or --step backward|training) \
            simulates the attention's backward (tree, ring, ring-sequential, single) and prints its volumes next to \
            the forward's. Output keys: docs/simulator.md.
            """)

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @Option(name: .long, help: "Comma-separated strategies.")
    var strategy: String = "tree,ring"

    @Option(name: .long, help: "Sequence length N (tokens of K/V).")
    var seqLen: Int

    @OptionGroup var workloadOptions: DecodeWorkloadOptions<RequiredModelShape>

    @OptionGroup var overheads: DecodeOverheadOptions

    @Option(name: .long, help: "table, json or csv.")
    var format: SimulateFormat = .table

    @Flag(
        name: .long,
        help:
            "Also run the overlapped ring as a baseline for the 'vs ring' column when ring is not among --strategy (its p^2 messages dominate at thousands of GPUs)."
    )
    var ringBaseline = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "The default since the baseline runs only when asked for (--ring-baseline); kept so older command lines still run.",
            visibility: .hidden))
    var noRingBaseline = false

    @Option(
        name: .long,
        help:
            "Write a Chrome/Perfetto trace JSON of every strategy here (- or /dev/stdout: standard output, instead of the report)."
    )
    var trace: String?

    @Option(
        name: .long,
        help:
            "The step simulated: forward (one decode step; default), backward (its attention backward) or training (forward then backward)."
    )
    var step: DecodeStep?

    @Flag(
        name: .long,
        help:
            "Simulate the attention backward of the decode step (--step backward): tree, ring, ring-sequential and single."
    )
    var backward = false

    @Flag(name: .long, help: "No progress lines on stderr for long simulations.")
    var quiet = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        if backward, let step, step != .backward {
            throw CLIError("--backward is --step backward; it cannot be combined with --step \(step.rawValue)")
        }
    }

    /// The step asked for (forward unless --backward or --step says otherwise).
    var resolvedStep: DecodeStep { backward ? .backward : step ?? .forward }

    func run() throws {
        // The trace's location is checked (and reserved) before the simulation runs.
        let output = try SimulationOutput(format: format, trace: trace, cluster: clusterOptions.cluster)
        defer { output.discard() }
        let cluster = try clusterOptions.load()
        let workload = try workloadOptions.workload(sequenceLength: seqLen)
        let strategies = try parseList(strategy, "--strategy") { try DecodeStrategy.parse($0) }
        let model = try DecodeModel(
            cluster: cluster, workload: workload, options: try overheads.decodeOptions(for: cluster),
            step: resolvedStep)
        // Long simulations (thousands of GPUs, a ring's p^2 messages) say how far they are, every 2 s.
        let progress = ProgressLines(title: "simulate decode", enabled: !quiet)
        let comparison = try DecodeComparison(
            model: model, strategies: strategies, recording: output.recording,
            ringBaseline: ringBaseline
        ) { strategy, events, expected, now in
            progress.sayEvents("\(strategy): ", events, of: expected, simulated: now.description)
        }
        try output.finish(
            trace: { comparison.trace() }, table: { comparison.table }, json: { try comparison.json() },
            csv: { comparison.csv })
    }
}
