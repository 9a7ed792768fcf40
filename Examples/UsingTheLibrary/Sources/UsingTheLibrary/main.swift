// Uses TreeAttention as a library: exact attention, the same attention through 8 shards and a binary tree merge, and
// a simulated Tree vs Ring decode step on 16 H100s. Exits non-zero if the tree result is not the exact one.
import Reference
import Simulator

#if canImport(Glibc)
import Glibc
#endif

func run() throws {
    // Seeded inputs: batch 1, 4 query heads on 2 KV heads (GQA), one query (decode), 1000 keys, head dim 64.
    var rng = SeededGenerator(seed: 42)
    func tensor(_ shape: [Int]) throws -> Tensor<Double> {
        try Tensor(shape: shape, data: rng.normals(Tensor<Double>.elementCount(shape)))
    }
    let inputs = try AttentionInputs(
        q: try tensor([1, 4, 1, 64]), k: try tensor([1, 2, 1000, 64]), v: try tensor([1, 2, 1000, 64]))

    let exact = try ExactAttention.forward(inputs, options: AttentionOptions())
    let tree = try ShardedAttention.forward(
        inputs, options: AttentionOptions(), layout: try ShardLayout(keys: 1000, shards: 8),
        reduction: try Reduction(parsing: "binary"))
    let difference = zip(exact.output.data, tree.result.output.data).map { abs($0 - $1) }.max() ?? .infinity
    print(
        "attention: 8 shards merged by a binary tree of depth \((tree.tree?.levels.count ?? 1) - 1); max |tree - exact| = \(difference)"
    )
    guard difference < 1e-12 else { throw ExampleError("the tree merge does not reproduce exact attention") }

    // One decode step of a 1M-token context on 2 DGX H100 servers: Tree (Algorithm 3) vs Ring Attention.
    let model = try DecodeModel(
        cluster: try Cluster.resolve("dgx-h100:2"),
        workload: try DecodeWorkload(sequenceLength: 1_000_000, heads: 16, headDim: 128))
    for report in try model.compare([.tree(collective: .tree), .ring(overlap: true)]) {
        print(
            "decode: \(report.strategy) on \(report.gpus) GPUs takes \(report.latency)"
                + (report.speedupVsRing.map { ", \(String(format: "%.2f", $0))x vs ring" } ?? ""))
    }
}

struct ExampleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

do {
    try run()
} catch {
    print("Error: \(error)")
    exit(1)
}
