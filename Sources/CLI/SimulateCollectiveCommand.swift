import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn simulate collective`: one collective on a cluster, event-simulated or from the NCCL model.
struct SimulateCollectiveCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "collective",
        abstract: "Simulate one collective (time, algBw, busBw with nccl-tests conventions).",
        discussion: """
            Algorithms: \(CollectiveAlgorithm.usage).
            Sizes follow nccl-tests: the per-rank buffer for allreduce/broadcast, the total output for allgather,
            the total input for reducescatter. GB = 1e9 bytes. An unsupported (operation, algorithm) pair is an
            error, never a silent fallback.
            """)

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @Option(name: .long, help: "The operation.")
    var op: CollectiveOperation = .allreduce

    @Option(name: .long, help: "Collective algorithm (see below).", transform: { try CollectiveAlgorithm.parse($0) })
    var algorithm: CollectiveAlgorithm = .ring

    @Option(name: .long, help: "Message size: 1048576, 1e9, 64MB, 1MiB, ...")
    var bytes: String

    @Option(name: .long, help: "Segments for pipelined trees/chains (default: ceil(bytes / 1 MiB)).")
    var segments: Int?

    @Option(name: .long, help: "Channel pacing: back-to-back or after-delivery.")
    var pacing: ChannelPacing = .backToBack

    @Option(name: .long, help: "Reduction cost in seconds per byte (gamma).")
    var gamma: Double = 0

    @Option(name: .long, help: "table, json or csv.")
    var format: SimulateFormat = .table

    @Option(
        name: .long,
        help: "Write a Chrome/Perfetto trace JSON here (- or /dev/stdout: standard output, instead of the report).")
    var trace: String?

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard gamma >= 0, gamma.isFinite else { throw SimulatorError.invalidArgument("--gamma must be >= 0") }
        if let s = segments, s < 1 { throw SimulatorError.invalidArgument("--segments must be >= 1") }
    }

    func run() throws {
        // The trace's location is checked (and reserved) before the simulation runs.
        let output = try SimulationOutput(format: format, trace: trace, cluster: clusterOptions.cluster)
        defer { output.discard() }
        let cluster = try clusterOptions.load()
        let collective = try Collective(
            op, algorithm: algorithm, bytes: try parseBytes(bytes),
            options: CollectiveOptions(reductionSecondsPerByte: gamma, segments: segments, pacing: pacing))
        let report = try collective.run(on: cluster, recording: output.recording)
        try output.finish(
            trace: { try report.trace(on: cluster) }, table: { report.table }, json: { try report.json() },
            csv: { report.csv })
    }
}
