import ArgumentParser
import CLICommon
import Foundation
import Reference
import Walkthrough

/// `treeattn explain`: walks a learner through one tiny decode example, from scores to the tree merge, then shows
/// what the same step costs on a cluster. The numbers are the `Walkthrough` library's; `--json` prints them as data.
struct ExplainCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Walk through Tree Attention on a tiny example: scores, energy, shards, the tree, the cost.")

    @Option(help: "Keys (tokens) in the example.") var tokens = 8
    @Option(help: "Shards (devices) the keys are split over.") var shards = 4
    @Option(help: "Head dimension of the example.") var headDim = 4
    @Option(help: "Random seed.") var seed: UInt64 = 7
    @Option(help: "Tree shape: binary, kary:K, two-level:G, flat.") var tree = "binary"
    @Option(help: "Cluster for the cost estimate (preset or file).") var cluster = "dgx-h100:1"
    @Option(help: "Sequence length for the cost estimate.") var seqLen = 640_000
    @Option(help: "Heads x head dim for the cost estimate, e.g. 16x128.") var model = "16x128"
    @Flag(help: "Also walk through the backward pass: dQ, dK, dV, and the tree-parallel backward over the shards.")
    var backward = false
    @Flag(help: "Also walk through an attention sink (gpt-oss): an extra term of the log-sum-exp, merged once.")
    var sinks = false
    @Option(help: "The sink logit of --sinks.") var sinkLogit = 1.0
    @Flag(help: "Print the walkthrough's numbers as JSON instead of text.") var json = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws { try settings().validate() }

    /// The walkthrough these options ask for.
    func settings() throws -> Walkthrough.Settings {
        let parts = model.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else {
            throw CLIError("--model needs HEADSxDIM, e.g. 16x128")
        }
        var s = Walkthrough.Settings()
        (s.tokens, s.shards, s.headDim, s.seed, s.tree, s.backward) = (tokens, shards, headDim, seed, tree, backward)
        (s.cluster, s.seqLen, s.modelHeads, s.modelHeadDim) = (cluster, seqLen, parts[0], parts[1])
        s.sink = sinks ? sinkLogit : nil
        return s
    }

    func run() throws {
        let walkthrough = try Walkthrough(try settings())
        print(json ? try walkthrough.json() : walkthrough.text)
    }
}
