import ArgumentParser
import Benchmarks
import CLICommon
import Foundation

/// `treeattn-mpi bench`: one decode step's combine (everything but the attention kernels) for each reduction at
/// P = 2 and 4 on this machine's shared memory, next to the simulator's prediction from a calibration made in the
/// same run (`CombineBench`). Build with -c release.
struct MPIBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Measure each reduction's combine in a decode step at P = 2 and 4, next to the simulator's prediction.")

    @Option(help: "Rank counts.") var ranks = "2,4"
    @Option(help: "Reductions.") var reductions = "algorithm3,merge-op,binary,ring"
    @Option(help: "Keys N of the decode step.") var keys = 65536
    @Option(help: "Query heads.") var heads = 16
    @Option(help: "Head dim.") var headDim = 32
    @Option(help: "Timed runs per point (after one warm-up).") var repeats = 20
    @Option(help: "The treeattn-mpi binary to launch (default: this one).") var binary: String?

    func run() throws {
        var bench = CombineBench(binary: binary ?? CommandLine.arguments[0])
        (bench.ranks, bench.reductions) = (
            try parseList(ranks, "--ranks", parseCount), try parseList(reductions, "--reductions") { $0 }
        )
        (bench.keys, bench.heads, bench.headDim, bench.repeats) = (keys, heads, headDim, repeats)
        let work = NSTemporaryDirectory() + "treeattn-bench-mpi-\(getpid())"
        try createFolder(work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        print(bench.heading)
        print(try bench.run(in: work))
    }
}
