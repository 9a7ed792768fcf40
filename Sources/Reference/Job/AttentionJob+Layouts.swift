import Foundation

extension AttentionJob.Run {
    /// Packed variable-length sequences: each sequence alone through the exact kernel.
    mutating func computeVarlen<S: AttentionScalar>(_: S.Type, cuSeqlensQ: [Int], cuSeqlensK: [Int]) throws {
        let inputs = try AttentionFiles(q: job.q, k: job.k, v: job.v, rank: 3)
        let (qs, ks, vs) = (inputs.shapes[0], inputs.shapes[1], inputs.shapes[2])
        let layout = try VarlenLayout(cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, totalQ: qs[0], totalK: ks[0])
        guard ks == [ks[0], vs[1], qs[2]], vs[0] == ks[0], vs[1] > 0, qs[1] % vs[1] == 0 else {
            throw ReferenceError.shape(
                "varlen shapes do not fit: q \(qs), k \(ks), v \(vs) (q (total_q, heads, d), k (total_k, kv_heads, d), v (total_k, kv_heads, dv), heads a multiple of kv_heads)"
            )
        }
        // As a (1, total, heads, dim) problem in bshd: the same bytes, so the same estimate.
        try checkMemory(
            S.self, inputShapes: [qs, ks, vs].map { [1, $0[0], $0[1], $0[2]] }, elementBytes: MemoryLayout<S>.size,
            bshd: true)
        let (tensors, warnings) = try inputs.values(
            as: S.self, swap: [false, false, false],
            propagation: "within its own sequence they propagate to the output")
        summary.warnings += warnings
        mark("read")
        let options = try problem.options(batch: 1, heads: qs[1], queries: 1, keys: 1)
        let r = try VarlenAttention.forward(
            q: tensors[0], k: tensors[1], v: tensors[2], layout: layout, options: options)
        mark("compute")
        try AttentionOutputBundle(job: job).writeVarlen(output: r.output, lse: r.lse, layout: layout, into: files)
    }

    /// Q with K and V gathered from a paged cache (`PagedKVCache`): the block table from its file, the problem's cache
    /// lengths, dense K/V of capacity max_blocks x page_size (positions past a length are excluded by the cache
    /// lengths, so what the unused slots hold, NaN included, never reaches the output).
    func pagedInputs<S: AttentionScalar>(
        q: Tensor<S>, kPages: Tensor<S>, vPages: Tensor<S>
    ) throws -> AttentionInputs<S> {
        guard case .paged(let path, let pageLayout) = job.keys, let lengths = problem.cacheSeqlens else {
            throw ReferenceError.invalidOption("a paged KV cache needs a block table and the cache lengths")
        }
        try MemoryBudget.current.check(try TensorFiles.readEstimate([path]), for: "reading the block table")
        let table = try TensorFiles.load(path, name: "block_table")
        guard table.shape.count == 2, !table.dtype.isFloatingPoint, table.dtype != .bool else {
            throw ReferenceError.file(
                path: path,
                problem:
                    "block_table must be a (batch, max_blocks) integer tensor, got \(table.dtype.rawValue) \(table.shape)"
            )
        }
        let values = table.doubles()
        guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e15 }) else {
            throw ReferenceError.file(path: path, problem: "block_table must hold integers")
        }
        let (rows, width) = (table.shape[0], table.shape[1])
        let cache = try PagedKVCache(
            kPages: kPages, vPages: vPages, layout: pageLayout,
            blockTable: (0..<rows).map { r in (0..<width).map { Int(values[r * width + $0]) } },
            cacheSeqlens: lengths)
        guard q.shape[0] == rows else {
            throw ReferenceError.shape("q has batch \(q.shape[0]) but the block table has \(rows) rows")
        }
        let capacity = try MemoryBudget.product([width, cache.pageSize], for: "the paged cache")
        // The dense copy of K and V, on top of what is already held.
        try MemoryBudget.current.check(
            try MemoryBudget.product(
                [rows, cache.kvHeads, capacity, cache.headDim + cache.valueDim, MemoryLayout<S>.stride],
                for: "gathering the paged cache"), for: "gathering the paged cache")
        let (k, v) = try cache.dense(capacity: capacity, fill: 0)
        return try AttentionInputs(q: q, k: k, v: v)
    }
}
