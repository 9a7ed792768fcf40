import ArgumentParser
import CLICommon
import Foundation
import Simulator
import Studies

/// `treeattn reproduce-paper`: regenerates docs/paper-reproduction.md and its SVG plots (deterministic).
struct ReproducePaperCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce-paper",
        abstract: "Regenerate docs/paper-reproduction.md: the paper's numbers vs idealised and calibrated predictions.",
        discussion: "The SVG plots are written next to the markdown file. Build with -c release for speed.")

    @Option(name: .long, help: "Markdown file to write (plots go into its directory).")
    var out: String = "docs/paper-reproduction.md"

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard out.hasSuffix(".md") else {
            throw SimulatorError.invalidArgument("--out must name a .md file, got '\(out)'")
        }
    }

    func run() throws {
        let dir = AtomicOutputs.parent(out)
        // The markdown and its plots appear together at the end (temporary names until all are written), or not at all.
        let outputs = try AtomicOutputs(
            [out] + PaperReproduction.fileNames.map { (dir as NSString).appendingPathComponent($0) },
            createFolders: true)
        defer { outputs.discard() }
        let reproduction = PaperReproduction()
        let bar = ProgressBar(title: "reproduce-paper", enabled: !quiet)
        defer { bar.close() }
        var done = 0
        let total = reproduction.totalSteps
        let output = try reproduction.document(command: "treeattn reproduce-paper --out \(out)") { label in
            done += 1
            bar.update(done, total, label)
        }
        bar.close()
        for f in output.files { try outputs.write(f.contents, to: (dir as NSString).appendingPathComponent(f.name)) }
        try outputs.write(output.markdown + "\n", to: out)
        try outputs.commit()
        print("wrote \(out) and \(output.files.map(\.name).joined(separator: ", ")) in \(dir)")
    }
}
