import ArgumentParser

/// The `treeattn` command: thin glue over the Reference and Simulator libraries.
@main
struct TreeAttn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "treeattn",
        abstract: "Exact attention reference, tree reductions and a cluster simulator for Tree Attention.",
        subcommands: [DemoCommand.self, ExplainCommand.self, AttentionCommand.self, RandomInputsCommand.self, GoldenCommand.self, CheckCommand.self, SimulateCommand.self, SweepCommand.self, ReproducePaperCommand.self, BenchCommand.self])
}

/// `treeattn bench ...`: release-build benchmarks that report ratios against a baseline measured in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (build with -c release).",
        subcommands: [BenchReferenceCommand.self, BenchSimulatorCommand.self])
}
