import ArgumentParser
import Foundation
import Reference
import CLICommon

/// `treeattn attention`: exact attention, or shard partials plus a reduction, on tensors read from files.
struct AttentionCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Compute exact or tree-reduced attention from .npy/.safetensors inputs.",
        discussion: """
            Inputs are (batch, heads, seq, dim) by default (--layout bshd for FlashAttention's order). A .safetensors \
            input is read by tensor name (q, k, v). f16/bf16 inputs are widened exactly and computed in --precision. \
            LSE is natural log with layout (batch, heads, seq_q). NaN or Inf in unmasked inputs propagates to the \
            output (a warning is printed); in masked positions it never reaches the output.
            """)

    @Option(help: "Query tensor file (.npy or .safetensors with tensor 'q').") var q: String
    @Option(help: "Key tensor file (.npy or .safetensors with tensor 'k').") var k: String
    @Option(help: "Value tensor file (.npy or .safetensors with tensor 'v').") var v: String
    @Option(help: "Number of key shards (devices).") var shards: Int = 1
    @Option(help: "exact, binary, kary:K, two-level:G, flat, ring or algorithm3.") var reduction: Reduction = .exact
    @Option(help: "Output file (.npy, or .safetensors which also holds lse, shard partials and tree levels).") var out: String
    @Option(help: "LSE output file (.npy).") var lse: String?
    @OptionGroup var problem: AttentionOptionGroup

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard (1...65_536).contains(shards) else { throw CLIError("--shards must be in 1...65536, got \(shards)") }
        if reduction == .exact && shards != 1 { throw CLIError("--shards \(shards) needs a --reduction other than exact") }
    }

    func run() throws {
        // All outputs are checked and reserved before any work, and appear together at the end or not at all.
        let paths = [out] + (lse.map { [$0] } ?? [])
        for path in paths { try TensorFiles.checkOutputType(path) }
        let outputs = try AtomicOutputs(paths)
        defer { outputs.discard() }
        let inputFiles = [q, k, v] + (problem.mask.map { [$0] } ?? [])
        try MemoryBudget.current.check(try TensorFiles.readEstimate(inputFiles), for: "reading the inputs")

        var tensors = try [(q, "q"), (k, "k"), (v, "v")].map { path, name -> Tensor<Double> in
            try problem.values(TensorFiles.load(path, name: name), path: path, name: name)
        }
        let inputs = try AttentionInputs(q: tensors.removeFirst(), k: tensors.removeFirst(), v: tensors.removeFirst())
        let options = try problem.makeOptions(batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, keys: inputs.keys)
        let layoutShards = try ShardLayout(keys: inputs.keys, shards: shards)
        try checkOutputMemory(inputs, inputFiles: inputFiles)

        switch problem.precision {
        case .f64:
            let r = try ShardedAttention.forward(inputs, options: options, layout: layoutShards, reduction: reduction)
            try write(r, into: outputs)
        case .f32:
            let x32 = try AttentionInputs(q: inputs.q.map(Float.init), k: inputs.k.map(Float.init), v: inputs.v.map(Float.init))
            let r = try ShardedAttention.forward(x32, options: options, layout: layoutShards, reduction: reduction)
            try write(r, into: outputs)
        }
        try outputs.commit()
    }

    /// The inputs as read plus what writing the outputs allocates: the output and LSE as f64 tensors, their
    /// converted copies and encoded bytes (3 x), times the tensors a .safetensors output also holds (one per shard
    /// and, at most, one per tree node: 1 + 2 x shards).
    func checkOutputMemory(_ x: AttentionInputs<Double>, inputFiles: [String]) throws {
        let what = "writing the outputs"
        let rows = try MemoryBudget.product([x.batch, x.queryHeads, x.queries], for: what)
        let perResult = try MemoryBudget.product([rows, x.valueDim + 1, 8, 3], for: what)
        let copies = (out as NSString).pathExtension.lowercased() == "safetensors" ? 1 + 2 * shards : 1
        let total = try MemoryBudget.sum([try TensorFiles.readEstimate(inputFiles), MemoryBudget.product([perResult, copies], for: what)], for: what)
        try MemoryBudget.current.check(total, for: "attention (inputs and outputs)")
    }

    func write<S: AttentionScalar>(_ r: ShardedAttention.Result<S>, into outputs: AtomicOutputs) throws {
        func data(_ t: Tensor<S>, swap: Bool) throws -> TensorData { try problem.data(t, swap: swap) }
        let bshd = problem.layout == .bshd
        let (output, lseData) = try problem.encode(r.result)
        if (out as NSString).pathExtension.lowercased() == "safetensors" {
            var file = SafetensorsFile(tensors: [("out", output), ("lse", lseData)], metadata: [
                "layout": problem.layout.rawValue, "lse_layout": "bhs", "lse_base": "e", "precision": problem.precision.rawValue,
                "reduction": reduction.description, "shards": "\(shards)", "generator": "treeattn attention"])
            for (i, p) in r.shardPartials.enumerated() {
                file.tensors.append(("shard\(i).out", try data(p.output, swap: bshd)))
                file.tensors.append(("shard\(i).lse", try data(p.lse, swap: false)))
            }
            if let tree = r.tree {
                for (l, level) in tree.levels.enumerated().dropFirst() {
                    for (n, node) in level.enumerated() {
                        file.tensors.append(("level\(l).node\(n).out", try data(node.output, swap: bshd)))
                        file.tensors.append(("level\(l).node\(n).lse", try data(node.lse, swap: false)))
                    }
                }
            }
            try outputs.write(file.encode(), to: out)
        } else {
            try outputs.write(TensorFiles.encode(output, for: out, name: "out"), to: out)
        }
        if let lse { try outputs.write(TensorFiles.encode(lseData, for: lse, name: "lse"), to: lse) }
    }
}
