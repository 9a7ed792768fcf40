import ArgumentParser
import Foundation
import Simulator
import Studies

/// `treeattn reproduce-paper`: regenerates docs/paper-reproduction.md and its SVG plots (deterministic).
struct ReproducePaperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce-paper",
        abstract: "Regenerate docs/paper-reproduction.md: the paper's numbers vs idealised and calibrated predictions.",
        discussion: "The SVG plots are written next to the markdown file. Build with -c release for speed.")

    @Option(name: .long, help: "Markdown file to write (plots go into its directory).")
    var out: String = "docs/paper-reproduction.md"

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard out.hasSuffix(".md") else { throw SimulatorError.invalidArgument("--out must name a .md file, got '\(out)'") }
    }

    func run() throws {
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
        let directory = (out as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        try writeFiles(output.files, into: dir)
        try writeFiles([((out as NSString).lastPathComponent, output.markdown + "\n")], into: dir)
        print("wrote \(out) and \(output.files.map(\.name).joined(separator: ", ")) in \(dir)")
    }
}
