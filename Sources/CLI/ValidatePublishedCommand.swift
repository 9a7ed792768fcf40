import ArgumentParser
import CLICommon
import Foundation
import Simulator
import Studies

/// `treeattn validate-published`: the simulator's NCCL model against published measurements of GPU systems
/// (Studies' `PublishedValidation`): writes validation-published.md, its CSV and its plots, together or not at all.
struct ValidatePublishedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate-published",
        abstract:
            "Predict published nccl-tests and context-parallel attention measurements; write validation-published.md, CSVs and plots.",
        discussion: """
            Writes --out's validation-published.md and its validation-published/ folder (CSVs, SVG plots). Every \
            measurement is cited and predicted on its preset; the calibration rows set the model's pipeline fill, the \
            held-out rows are predicted without refitting, and the two sets are reported separately. The defaults are \
            the published docs/validation-published.md.
            """)

    @Option(name: .long, help: "Folder for validation-published.md and validation-published/ (created if missing).")
    var out: String = "docs"

    func run() throws {
        let outputs = try AtomicOutputs(
            (PublishedValidation.fileNames + PublishedAttentionValidation.fileNames).map {
                (out as NSString).appendingPathComponent($0)
            }, createFolders: true)
        defer { outputs.discard() }
        let rows = try PublishedValidation.run()
        let attention = try PublishedAttentionValidation.run()
        let files = try PublishedValidation.files(rows, attention: attention)
        for f in files { try outputs.write(f.contents, to: (out as NSString).appendingPathComponent(f.name)) }
        try outputs.commit()
        let held = PublishedValidation.summary(rows, .heldOut)
        print(
            "wrote \(files.map { (out as NSString).appendingPathComponent($0.name) }.joined(separator: ", ")) (\(rows.count) measurements"
                + (held.map {
                    String(format: "; held out: median |error| %.1f%%, largest %.1f%%", $0.median * 100, $0.max * 100)
                } ?? "")
                + (PublishedAttentionValidation.summary(attention.rows, .heldOut).map {
                    String(
                        format: "; attention held out: %d of %d within 30%%, median %.1f%%", $0.within, $0.count,
                        $0.median * 100)
                } ?? "") + ")")
    }
}
