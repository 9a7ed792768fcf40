import ArgumentParser
import CLICommon
import Foundation
import Simulator
import StudyOptions

/// `treeattn simulate prefill`: one layer's context-parallel causal prefill under several strategies.
struct SimulatePrefillCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill",
        abstract: "Simulate one layer's context-parallel prefill: ring, zigzag, striped, all-gather, pass-q.",
        discussion: """
            Strategies: \(PrefillStrategy.usage). ring, zigzag and striped pass K/V around the ring (contiguous, \
            zigzag or striped token placement); all-gather is Llama 3's (all-gather K/V, then attend); pass-q passes \
            the queries and returns partial outputs by all-to-all. Every rank holds N/p tokens (queries and keys). \
            Overheads as in simulate decode. Closed forms and output keys: docs/simulator.md, "Prefill strategies".
            """)

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @Option(name: .long, help: "Comma-separated strategies.")
    var strategy: String = "ring,zigzag,striped,all-gather,pass-q"

    @Option(name: .long, help: "Prompt length N (tokens: queries and keys).")
    var seqLen: Int

    @OptionGroup var workloadOptions: DecodeWorkloadOptions<RequiredModelShape>

    @OptionGroup var overheads: DecodeOverheadOptions

    @Flag(name: .long, help: "No causal mask: every query sees every key.")
    var nonCausal = false

    @Option(name: .long, help: "table, json or csv.")
    var format: SimulateFormat = .table

    @Option(
        name: .long,
        help: "Write a Chrome/Perfetto trace JSON of every strategy here (- or /dev/stdout: instead of the report).")
    var trace: String?

    @Flag(name: .long, help: "No progress lines on stderr for long simulations.")
    var quiet = false

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let output = try SimulationOutput(format: format, trace: trace, cluster: clusterOptions.cluster)
        defer { output.discard() }
        let cluster = try clusterOptions.load()
        if let name = workloadOptions.model, try ModelAttention.named(name).window != nil {
            throw CLIError(
                "\(name): sliding-window prefill is not modelled (its layers attend to the last window only)")
        }
        let model = try PrefillModel(
            cluster: cluster, workload: try workloadOptions.workload(sequenceLength: seqLen),
            options: try overheads.decodeOptions(for: cluster), causal: !nonCausal)
        let strategies = try parseList(strategy, "--strategy") { try PrefillStrategy.parse($0) }
        let progress = ProgressLines(title: "simulate prefill", enabled: !quiet)
        let comparison = try PrefillComparison(model: model, strategies: strategies, recording: output.recording) {
            strategy, events, expected, now in
            progress.sayEvents("\(strategy): ", events, of: expected, simulated: now.description)
        }
        try output.finish(
            trace: { comparison.trace() }, table: { comparison.table }, json: { try comparison.json() },
            csv: { comparison.csv })
    }
}
