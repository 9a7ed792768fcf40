import ArgumentParser
import Studies
import StudyOptions

/// `mpirun -np P treeattn-mpi scale ...`: `treeattn scale` with its cells split over the MPI ranks; the same options,
/// the same files, byte for byte.
struct MPIScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "treeattn scale with its (GPU count, sequence length) cells split over the MPI ranks.",
        discussion: """
            Takes treeattn scale's options and writes the same scale.md and scale/ into --out (on rank 0), byte for \
            byte; rank r runs cells r, r+P, ... (docs/scale.md).
            """)

    @OptionGroup var study: ScaleOptions
    @Flag(name: .long, help: "No progress lines.") var quiet = false

    func run() throws {
        try runSplit({ try ScaleStudy.Grid(try study.configuration()) }, into: study.out, title: "scale", quiet: quiet)
    }
}
