import ArgumentParser
import CLICommon
import Foundation
import Studies
import StudyOptions

/// `treeattn scale`: the datacenter-scale study (docs/scale.md): Tree vs Ring, pass-partials and gather decode latency
/// on 3-tier H100 fat trees from 8 to 65,536 GPUs at 1M-100M tokens, with CSV, SVG plots and the winner of each cell.
struct ScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract:
            "Tree vs Ring (and pass-partials, gather) from 8 to 65,536 GPUs: writes scale.md, scale/scale.csv and plots.",
        discussion: """
            Writes --out's scale.md and its scale/ folder (scale.csv, latency-N.svg, speedup.svg) together, or nothing.
            The defaults are the published docs/scale.md (`make scale-doc`, about 5 minutes with a release build).
            `mpirun -np P treeattn-mpi scale` takes the same options and writes the same bytes.
            """)

    @OptionGroup var study: ScaleOptions

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func run() throws {
        let grid = try ScaleStudy.Grid(try study.configuration())
        // Every output (the markdown, the CSV and each plot) is checked and reserved before the study runs.
        let folder = try StudyFolder(study.out, names: grid.fileNames)
        defer { folder.discard() }
        let bar = ProgressBar(title: "scale", enabled: !quiet)
        defer { bar.close() }
        let steps = try grid.runAll { bar.update($0, $1, $2) }
        let paths = try folder.write(try grid.files(steps))
        bar.close()
        print("wrote \(paths.joined(separator: ", "))")
    }
}
