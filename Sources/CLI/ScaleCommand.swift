import ArgumentParser
import CLICommon
import Foundation
import Simulator
import Studies

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
            """)

    @Option(name: .long, help: "Folder for scale.md and scale/ (created if missing).")
    var out: String = "docs"

    @Option(
        name: .long,
        help: "Comma-separated GPU counts (multiples of 8 up to 65536; each on dgx-h100-3tier with p/8 servers).")
    var gpus: String = "8,64,512,4096,16384,65536"

    @Option(name: .long, help: "Comma-separated sequence lengths N (e.g. 1M,10M,100M).")
    var seqLens: String = "1M,10M,100M"

    @Option(name: .long, help: "Largest GPU count at which gather is simulated (its incast costs p^2).")
    var gatherLimit: Int = 4096

    @OptionGroup var overheads: DecodeOverheadOptions

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func configuration() throws -> ScaleStudy.Configuration {
        var c = ScaleStudy.Configuration()
        c.gpuCounts = try parseList(gpus, "--gpus", parseCount)
        c.sequenceLengths = try parseList(seqLens, "--seq-lens", parseCount)
        c.gatherLimit = gatherLimit
        try c.validate()
        c.options = try overheads.decodeOptions(for: try Cluster.resolve("dgx-h100-3tier:1"))
        return c
    }

    func run() throws {
        let c = try configuration()
        // Every output (the markdown, the CSV and each plot) is checked and reserved before the study runs.
        let outputs = try AtomicOutputs(
            ScaleStudy.fileNames(c).map { (out as NSString).appendingPathComponent($0) }, createFolders: true)
        defer { outputs.discard() }
        let bar = ProgressBar(title: "scale", enabled: !quiet)
        defer { bar.close() }
        let points = try ScaleStudy.run(c) { bar.update($0, $1, $2) }
        let files = try ScaleStudy.files(c, points)
        for f in files { try outputs.write(f.contents, to: (out as NSString).appendingPathComponent(f.name)) }
        try outputs.commit()
        bar.close()
        print("wrote \(files.map { (out as NSString).appendingPathComponent($0.name) }.joined(separator: ", "))")
    }
}
