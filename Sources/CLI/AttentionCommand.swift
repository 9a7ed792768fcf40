import ArgumentParser
import Foundation
import Reference

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
    @Option(help: "Tensor layout: bhsd (batch, heads, seq, dim) or bshd.") var layout: TensorLayout = .bhsd
    @Option(help: "Softmax scale (default 1/sqrt(d_qk)).") var scale: Double?
    @Option(help: "Causal mask: none, top-left or bottom-right.") var causal: CausalMode = .none
    @Option(help: "Sliding window L,R (inclusive, -1 = unbounded), FlashAttention's convention.") var window: String?
    @Option(help: "Softcap c: s <- c tanh(s/c).") var softcap: Double?
    @Option(help: "ALiBi slopes, one per query head, comma separated.") var alibiSlopes: String?
    @Option(help: "Per-batch KV cache lengths, comma separated.") var cacheSeqlens: String?
    @Option(help: "Mask file: boolean (true = attend) or float (additive) tensor 'mask', shape (Sq,Sk) or (B|1,H|1,Sq|1,Sk).")
    var mask: String?
    @Option(help: "Number of key shards (devices).") var shards: Int = 1
    @Option(help: "exact, binary, kary:K, two-level:G, flat, ring or algorithm3.") var reduction: Reduction = .exact
    @Option(help: "Output file (.npy, or .safetensors which also holds lse, shard partials and tree levels).") var out: String
    @Option(help: "LSE output file (.npy).") var lse: String?
    @Option(help: "Compute precision: f64 (dgemm) or f32 (sgemm).") var precision: Precision = .f64

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
        let inputFiles = [q, k, v] + (mask.map { [$0] } ?? [])
        try MemoryBudget.current.check(try TensorFiles.readEstimate(inputFiles), for: "reading the inputs")

        var tensors = try [(q, "q"), (k, "k"), (v, "v")].map { path, name -> Tensor<Double> in
            let t = try TensorFiles.load(path, name: name)
            guard t.dtype.isFloatingPoint else { throw CLIError("\(path): \(name) must be a float tensor, got \(t.dtype.rawValue)") }
            guard t.shape.count == 4 else { throw CLIError("\(path): \(name) must have rank 4 (\(layout)), got shape \(t.shape)") }
            let values = t.tensor()
            let bad = values.data.filter { !$0.isFinite }.count
            if bad > 0 {
                printWarning("\(name) holds \(bad) NaN/Inf values; in unmasked positions they propagate to the output")
            }
            return layout == .bshd ? values.swappingAxes12() : values
        }
        let inputs = try AttentionInputs(q: tensors.removeFirst(), k: tensors.removeFirst(), v: tensors.removeFirst())
        let options = try makeOptions(inputs)
        let layoutShards = try ShardLayout(keys: inputs.keys, shards: shards)
        try checkOutputMemory(inputs, inputFiles: inputFiles)

        switch precision {
        case .f64:
            let r = try ShardedAttention.forward(inputs, options: options, layout: layoutShards, reduction: reduction)
            try write(r, dtype: .f64, into: outputs)
        case .f32:
            let x32 = try AttentionInputs(q: inputs.q.map(Float.init), k: inputs.k.map(Float.init), v: inputs.v.map(Float.init))
            let r = try ShardedAttention.forward(x32, options: options, layout: layoutShards, reduction: reduction)
            try write(r, dtype: .f32, into: outputs)
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

    func makeOptions(_ x: AttentionInputs<Double>) throws -> AttentionOptions {
        var options = AttentionOptions(scale: scale, causal: causal, softcap: softcap)
        if let window {
            let parts = window.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let l = parts[0], let r = parts[1] else { throw CLIError("--window needs L,R integers, got '\(window)'") }
            options.window = SlidingWindow(left: l, right: r)
        }
        if let alibiSlopes { options.alibiSlopes = try parseNumbers(alibiSlopes, "--alibi-slopes") }
        if let cacheSeqlens {
            options.cacheSeqlens = try parseNumbers(cacheSeqlens, "--cache-seqlens").map { value -> Int in
                guard let n = Int(exactly: value) else { throw CLIError("--cache-seqlens needs integers, got \(value)") }
                return n
            }
        }
        if let mask {
            let t = try TensorFiles.load(mask, name: "mask")
            if t.dtype == .bool || t.dtype == .u8 {
                options.mask = try BroadcastMask(t.tensor().map { $0 != 0 }, batch: x.batch, heads: x.queryHeads, queries: x.queries, keys: x.keys)
            } else if t.dtype.isFloatingPoint {
                options.additiveMask = try BroadcastMask(t.tensor(), batch: x.batch, heads: x.queryHeads, queries: x.queries, keys: x.keys)
            } else {
                throw CLIError("\(mask): mask must be bool/u8 (attend = true) or float (additive), got \(t.dtype.rawValue)")
            }
        }
        return options
    }

    func write<S: AttentionScalar>(_ r: ShardedAttention.Result<S>, dtype: DType, into outputs: AtomicOutputs) throws {
        func data(_ t: Tensor<S>, swap: Bool) throws -> TensorData {
            let t64 = t.map { Double($0) }
            return try TensorData(swap ? t64.swappingAxes12() : t64, dtype: dtype)
        }
        let bshd = layout == .bshd
        let output = try data(r.result.output, swap: bshd)
        let lseData = try data(r.result.lse, swap: false)
        if (out as NSString).pathExtension.lowercased() == "safetensors" {
            var file = SafetensorsFile(tensors: [("out", output), ("lse", lseData)], metadata: [
                "layout": layout.rawValue, "lse_layout": "bhs", "lse_base": "e", "precision": precision.rawValue,
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
