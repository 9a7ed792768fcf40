import ArgumentParser
import CLICommon
import Studies
import StudyOptions

/// `mpirun -np P treeattn-mpi sweep ...`: `treeattn sweep` with its grid split over the MPI ranks; the same options,
/// the same files, byte for byte.
struct MPISweepCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "treeattn sweep with its (GPU count, sequence length) steps split over the MPI ranks.",
        discussion: """
            Takes treeattn sweep's options and writes the same files into --out (on rank 0), byte for byte; rank r \
            runs steps r, r+P, ... (docs/sweep.md, "On a cluster").
            """)

    @OptionGroup var study: SweepOptions
    @Flag(name: .long, help: "No progress lines.") var quiet = false
    @OptionGroup var memory: MemoryOptions

    func run() throws {
        try runSplit({ try SweepGrid(try study.configuration()) }, into: study.out, title: "sweep", quiet: quiet)
    }
}
