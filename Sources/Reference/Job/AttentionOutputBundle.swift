import Foundation

/// The output files of an attention job and what they hold: the schema of `treeattn attention`'s results.
///
/// - `out` as .npy: the output alone, in the problem's layout and precision.
/// - `out` as .safetensors (the bundle): `out`, `lse` (batch, heads, seq_q), every shard partial
///   (`shard{i}.out`, `shard{i}.lse`) and every tree level above the shards (`level{l}.node{n}.out/.lse`); with the
///   backward also `dq`, `dk`, `dv` (and `dsinks`, one per query head, with sinks) and each shard's `shard{i}.dq`
///   (its dQ share) and `shard{i}.dk/.dv` (its keys' gradients). With sinks, shard partials and tree levels leave
///   them out and `out`/`lse` include them (merged once). Metadata: `layout`, `lse_layout` (bhs), `lse_base` (e), `precision`, `reduction`, `shards`,
///   `generator`, and `backward` describing the gradients.
/// - Varlen: `out` (total_q, heads, value_dim) and `lse` (heads, total_q), FlashAttention's varlen layouts; a
///   .safetensors also holds `cu_seqlens_q`/`cu_seqlens_k` (i32) and metadata `layout` varlen.
/// - A KV-cache update (`AttentionJob.CacheAppend`): the updated caches, `k_cache_updated`, `v_cache_updated` in the
///   bundle (the input caches' layout: dense in the problem's, or pages) and metadata `kvcache`.
/// - `lse`, `dq`, `dk`, `dv`, and the updated caches, given as their own files: .npy (or a one-tensor .safetensors).
public struct AttentionOutputBundle {
    /// The job whose results are written.
    public let job: AttentionJob

    /// The bundle of `job`.
    public init(job: AttentionJob) { self.job = job }

    /// The `generator` entry of every file's metadata.
    public static let generator = "treeattn attention"

    /// Writes the forward's results (and the backward's, when given) into the reserved `files`.
    public func write<S: AttentionScalar>(
        _ r: ShardedAttention.Result<S>, gradients: ShardedBackward.Result<S>? = nil,
        caches: (k: TensorData, v: TensorData)? = nil, into files: AtomicOutputs
    ) throws {
        let problem = job.problem, outputs = job.outputs
        let bshd = problem.layout.swapsAxes
        func data(_ t: Tensor<S>, swap: Bool) throws -> TensorData { try problem.data(t, swap: swap) }
        let (output, lseData) = try problem.encode(r.result)
        if outputs.bundled {
            var file = SafetensorsFile(
                tensors: [("out", output), ("lse", lseData)],
                metadata: problem.metadata([
                    "reduction": job.reduction.description, "shards": "\(job.shards)", "generator": Self.generator,
                ]))
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
            if let g = gradients {
                file.metadata["backward"] =
                    "dq, dk, dv: gradients of sum(do * out); shardI.dq is shard I's dq share, shardI.dk/dv its keys' gradients"
                for (key, t) in [("dq", g.gradients.dq), ("dk", g.gradients.dk), ("dv", g.gradients.dv)] {
                    file.tensors.append((key, try data(t, swap: bshd)))
                }
                if let dsinks = g.gradients.dsinks { file.tensors.append(("dsinks", try data(dsinks, swap: false))) }
                for (i, shard) in g.shards.enumerated() {
                    for (key, t) in [("dq", shard.dq), ("dk", shard.dk), ("dv", shard.dv)] {
                        file.tensors.append(("shard\(i).\(key)", try data(t, swap: bshd)))
                    }
                }
            }
            if let caches {
                file.tensors += [("k_cache_updated", caches.k), ("v_cache_updated", caches.v)]
                file.metadata["kvcache"] =
                    "k_cache_updated/v_cache_updated: the caches after appending k_new/v_new at cache_seqlens (the input's layout)"
            }
            try files.stream(to: outputs.out) { try file.write(into: $0) }
        } else {
            try files.write(output, to: outputs.out, name: "out")
        }
        if let caches {
            if let path = outputs.kCache { try files.write(caches.k, to: path, name: "k_cache_updated") }
            if let path = outputs.vCache { try files.write(caches.v, to: path, name: "v_cache_updated") }
        }
        if let g = gradients {
            for (path, key, t) in [
                (outputs.dq, "dq", g.gradients.dq), (outputs.dk, "dk", g.gradients.dk),
                (outputs.dv, "dv", g.gradients.dv),
            ] {
                guard let path else { continue }
                try files.write(try data(t, swap: bshd), to: path, name: key)
            }
            if let path = outputs.dsinks, let dsinks = g.gradients.dsinks {
                try files.write(try data(dsinks, swap: false), to: path, name: "dsinks")
            }
        }
        if let lse = outputs.lse { try files.write(lseData, to: lse, name: "lse") }
    }

    /// Writes a varlen run's packed output (total_q, heads, value_dim) and LSE (heads, total_q).
    public func writeVarlen<S: AttentionScalar>(
        output: Tensor<S>, lse: Tensor<S>, layout: VarlenLayout,
        into files: AtomicOutputs
    ) throws {
        let problem = job.problem, outputs = job.outputs
        let outputData = try problem.data(output, swap: false), lseData = try problem.data(lse, swap: false)
        if outputs.bundled {
            let i32 = { (xs: [Int]) in try TensorData(values: xs.map(Double.init), shape: [xs.count], dtype: .i32) }
            var tensors = [
                ("out", outputData), ("lse", lseData), ("cu_seqlens_q", try i32(layout.cuSeqlensQ)),
                ("cu_seqlens_k", try i32(layout.cuSeqlensK)),
            ]
            if let used = layout.sequsedQ { tensors.append(("seqused_q", try i32(used))) }
            if let used = layout.sequsedK { tensors.append(("seqused_k", try i32(used))) }
            let file = SafetensorsFile(
                tensors: tensors,
                metadata: [
                    "layout": "varlen", "out_layout": "thd (total_q, heads, value_dim)",
                    "lse_layout": "ht (heads, total_q)", "lse_base": "e",
                    "precision": problem.precision.rawValue, "generator": Self.generator,
                ])
            try files.stream(to: outputs.out) { try file.write(into: $0) }
        } else {
            try files.write(outputData, to: outputs.out, name: "out")
        }
        if let lse = outputs.lse { try files.write(lseData, to: lse, name: "lse") }
    }
}
