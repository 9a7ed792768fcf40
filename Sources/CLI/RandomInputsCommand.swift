import ArgumentParser
import CLICommon
import Foundation
import Reference

/// `treeattn random-inputs`: seeded Q, K, V for experiments and cross-checks (same seed, same bytes, any machine).
struct RandomInputsCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-inputs",
        abstract: "Write seeded random q, k, v (bhsd) to a .safetensors file, or to q.npy/k.npy/v.npy in a folder.")

    @OptionGroup var shape: RandomShapeOptions
    @Option(help: "Output .safetensors file, or a folder for .npy files.") var out: String

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        let total = try shape.spec.elementCounts().reduce(0) { try MemoryBudget.sum([$0, $1], for: "q, k and v") }
        guard total <= 1 << 30 else { throw CLIError("q, k and v would hold \(total) elements; the limit is 2^30") }
    }

    func run() throws { try shape.spec.write(to: out) }
}
