import ArgumentParser
import CLICommon
import Foundation
import Studies
import StudyOptions

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
            the file. Columns and the overhead model: docs/sweep.md. `mpirun -np P treeattn-mpi sweep` takes the same
            options and writes the same bytes.
            """)

    @OptionGroup var study: SweepOptions

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let grid = try SweepGrid(try study.configuration())
        // Every file is checked and reserved before the sweep runs; they appear together at the end (each under a
        // temporary name until all are written), or not at all.
        let folder = try StudyFolder(study.out, names: grid.fileNames)
        defer { folder.discard() }
        let bar = ProgressBar(title: "sweep", enabled: !quiet)
        defer { bar.close() }
        let result = grid.result(try grid.runAll { bar.update($0, $1, $2) })
        let paths = try folder.write(try Sweep.files(result))
        bar.close()
        print("wrote \(paths.joined(separator: ", ")) (\(result.points.count) points)")
    }
}
