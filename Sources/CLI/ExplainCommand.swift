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
    @Flag(help: "Make the query causal: it sits at --query-position and does not see the keys after it.")
    var causal = false
    @Option(help: "The causal query's position (default: the middle key).") var queryPosition: Int?
    @Option(help: "Keys per block of FlashAttention's loop inside a shard.") var blockSize = 1
    @Option(help: "The shard that owns the query in the ring order.") var ringOwner = 0
    @Option(help: "The coordinate c of zeta for the energy line F(t e_c).") var energyComponent = 0
    @Option(
        help: ArgumentHelp(
            "Values instead of the seeded ones: a JSON file {\"q\": [d numbers], \"k\": [n rows], \"v\": [n rows]} (sets --tokens and --head-dim).",
            valueName: "file"))
    var values: String?
    @Flag(help: "Print the walkthrough's numbers as JSON instead of text.") var json = false
    @Option(
        help: ArgumentHelp(
            "Write the interactive explainer site (index.html and its files) into this new or empty folder.",
            valueName: "dir"))
    var html: String?

    @OptionGroup var memory: MemoryOptions

    func validate() throws { try settings().validate() }

    /// The walkthrough these options ask for.
    func settings() throws -> Walkthrough.Settings {
        let parts = model.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else {
            throw CLIError("--model needs HEADSxDIM, e.g. 16x128")
        }
        guard queryPosition == nil || causal else { throw CLIError("--query-position needs --causal") }
        var s = Walkthrough.Settings()
        (s.tokens, s.shards, s.headDim, s.seed, s.tree, s.backward) = (tokens, shards, headDim, seed, tree, backward)
        (s.cluster, s.seqLen, s.modelHeads, s.modelHeadDim) = (cluster, seqLen, parts[0], parts[1])
        s.sink = sinks ? sinkLogit : nil
        (s.causal, s.queryPosition, s.blockSize, s.ringOwner) = (causal, queryPosition, blockSize, ringOwner)
        s.energyComponent = energyComponent
        if let values {
            s.values = try Walkthrough.Values.load(path: values)
            (s.tokens, s.headDim) = (s.values?.k.count ?? tokens, s.values?.q.count ?? headDim)
        }
        return s
    }

    func run() throws {
        if let html {
            let folder = try AtomicFolder(html)  // a folder it cannot use is refused before any work
            let bar = ProgressBar(title: "explain --html: simulating the cluster grid")
            let site = try ExplainerSite(settings: try settings()) { bar.update($0, $1, "") }
            try site.write(into: folder)
            print("Wrote the explainer to \(html)/index.html (open it in a browser; it needs no network).")
            return
        }
        let walkthrough = try Walkthrough(try settings())
        print(json ? try walkthrough.json() : walkthrough.text)
    }
}
