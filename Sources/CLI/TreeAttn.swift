import ArgumentParser
import CLICommon
import Foundation
import Reference
import Simulator

/// The `treeattn` command: thin glue over the Reference and Simulator libraries.
@main
struct TreeAttn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "treeattn",
        abstract: "Exact attention reference, tree reductions and a cluster simulator for Tree Attention.",
        subcommands: [
            DemoCommand.self, ExplainCommand.self, AttentionCommand.self, RandomInputsCommand.self, GoldenCommand.self,
            CheckCommand.self, SimulateCommand.self, SweepCommand.self, ScaleCommand.self, ReproducePaperCommand.self,
            ValidatePublishedCommand.self,
            BenchCommand.self,
        ])

    /// The one error path (`ErrorReport.run`): help and other clean exits print as usual (exit 0); `check` exits 1
    /// when a case fails; every other error, from the argument parser or from a command, is one stderr line
    /// `Error: ...` and exit 2.
    static func main() {
        ErrorReport.run(Self.self)
    }
}

/// `treeattn bench ...`: release-build benchmarks that report ratios against a baseline measured in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (build with -c release).",
        subcommands: [BenchReferenceCommand.self, BenchSimulatorCommand.self])
}
