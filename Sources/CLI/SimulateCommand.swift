import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn simulate ...`: the discrete-event cluster simulator (see docs/simulator.md).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Discrete-event cluster simulation: collectives, Tree vs Ring decoding, context-parallel prefill.",
        subcommands: [
            SimulateCollectiveCommand.self, SimulateDecodeCommand.self, SimulatePrefillCommand.self,
            SimulateClusterCommand.self,
        ])
}

/// Options shared by the simulate subcommands to pick a cluster.
struct SimulateClusterOptions: ParsableArguments {
    @Option(name: .long, help: "Preset (\(ClusterPreset.usage)) or a YAML/JSON cluster file.")
    var cluster: String

    @Option(name: .long, help: "Number of servers for dgx-h100 (or GPUs for mi300x / rtx4090-pcie); same as PRESET:N.")
    var nodes: Int?

    @Option(name: .long, help: "Use only the first N GPUs of the cluster.")
    var gpus: Int?

    func load() throws -> Cluster {
        let c = try Cluster.resolve(cluster, count: nodes)
        return try gpus.map { try c.prefix($0) } ?? c
    }
}

/// `treeattn simulate cluster`: prints what a cluster description resolved to.
struct SimulateClusterCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Show a cluster: devices (GPUs or CPU ranks), servers, link classes, calibrated overheads.")

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @Option(name: .long, help: "table, json or csv (the link classes).")
    var format: SimulateFormat = .table

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let summary = ClusterSummary(try clusterOptions.load())
        switch format {
        case .table: print(summary.table)
        case .json: print(try summary.json())
        case .csv: print(summary.csv.render(), terminator: "")
        }
    }
}
