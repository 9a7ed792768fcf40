import Foundation

extension AttentionJob.Run {
    /// Packed variable-length sequences: each sequence alone through the exact kernel (only the rows `used` names,
    /// FlashAttention 3's seqused_q/seqused_k, when given).
    mutating func computeVarlen<S: AttentionScalar>(
        _: S.Type, cuSeqlensQ: [Int], cuSeqlensK: [Int], used: (q: [Int]?, k: [Int]?)
    ) throws {
        let inputs = try AttentionFiles(q: job.q, k: job.k, v: job.v, rank: 3)
        let (qs, ks, vs) = (inputs.shapes[0], inputs.shapes[1], inputs.shapes[2])
        let layout = try VarlenLayout(cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, totalQ: qs[0], totalK: ks[0])
            .using(queries: used.q, keys: used.k)
        guard ks == [ks[0], vs[1], qs[2]], vs[0] == ks[0], vs[1] > 0, qs[1] % vs[1] == 0 else {
            throw ReferenceError.shape(
                "varlen shapes do not fit: q \(qs), k \(ks), v \(vs) (q (total_q, heads, d), k (total_k, kv_heads, d), v (total_k, kv_heads, dv), heads a multiple of kv_heads)"
            )
        }
        // As a (1, total, heads, dim) problem in bshd: the same bytes, so the same estimate; the time per sequence.
        var work = AttentionWork()
        for i in 0..<layout.sequences {
            work.add(
                batch: 1, heads: qs[1], queries: layout.queries(i).count, keys: layout.keys(i).count, headDim: qs[2],
                valueDim: vs[2])
        }
        try checkMemory(
            S.self, inputShapes: [qs, ks, vs].map { [1, $0[0], $0[1], $0[2]] }, elementBytes: MemoryLayout<S>.size,
            bshd: true, work: work)
        let (tensors, bad) = try inputs.values(as: S.self, swap: [false, false, false])
        mark("read")
        let options = try problem.options(batch: 1, heads: qs[1], queries: 1, keys: 1)
        try warnVarlen(tensors, layout: layout, bad: bad)
        let r = try VarlenAttention.forward(
            q: tensors[0], k: tensors[1], v: tensors[2], layout: layout, options: options)
        mark("compute")
        try AttentionOutputBundle(job: job).writeVarlen(output: r.output, lse: r.lse, layout: layout, into: files)
    }

    /// The NaN/Inf warnings of packed q, k and v: q's every value, k's and v's only at the keys some query of their
    /// own sequence sees (`InputWarnings`, per sequence with its own causal and window alignment); keys of no
    /// sequence, or of a sequence without queries, are never read.
    mutating func warnVarlen<S: AttentionScalar>(_ t: [Tensor<S>], layout: VarlenLayout, bad: [Int]) throws {
        let propagation = "within its own sequence they propagate to the output"
        summary.warnings += InputWarnings.line("q", bad[0], propagation)
        let (hq, hkv) = (t[0].shape[1], t[1].shape[1])
        for (index, role) in [(1, "k"), (2, "v")] where bad[index] > 0 {
            let (tensor, dim) = (t[index], t[index].shape[2])
            var seen = 0
            for i in 0..<layout.sequences {
                let (rq, rk) = (layout.queries(i), layout.keys(i))
                let options = try problem.options(batch: 1, heads: hq, queries: rq.count, keys: rk.count)
                let rule = try ScoreRule(
                    options: options, batch: 1, queryHeads: hq, queries: rq.count, keys: rk.count, headDim: dim)
                // The sequence's keys as a (1, kv_heads, n, dim) view of the packed (total, kv_heads, dim) tensor.
                seen += InputWarnings.visibleBad(shape: [1, hkv, rk.count, dim], rule: rule, queryHeads: hq) { e in
                    let (c, rest) = (e % dim, e / dim)
                    let (j, g) = (rest % rk.count, rest / rk.count)
                    return !tensor.data[((rk.lowerBound + j) * hkv + g) * dim + c].isFinite
                }
            }
            summary.warnings += InputWarnings.line(role, seen, propagation)
        }
    }

    /// Q with K and V gathered from a paged cache (`PagedKVCache`): the block table from its file, the problem's cache
    /// lengths, dense K/V of capacity max_blocks x page_size (only the blocks rows use for a plain one-shard forward) (positions past a length are excluded by the cache
    /// lengths, so what the unused slots hold, NaN included, never reaches the output).
    func pagedInputs<S: AttentionScalar>(
        q: Tensor<S>, kPages: Tensor<S>, vPages: Tensor<S>
    ) throws -> AttentionInputs<S> {
        try pagedInputs(q: q, cache: try pagedCache(kPages: kPages, vPages: vPages, lengths: problem.cacheSeqlens))
    }

    /// The paged cache of `kPages` and `vPages`: the block table read from the job's file, the given lengths.
    func pagedCache<S: AttentionScalar>(
        kPages: Tensor<S>, vPages: Tensor<S>, lengths: [Int]?
    ) throws -> PagedKVCache<S> {
        guard case .paged(let path, let pageLayout) = job.keys, let lengths else {
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
        // Exact integers whatever their magnitude: entries a row never reads may hold anything.
        guard let values = table.integers() else {
            throw ReferenceError.file(path: path, problem: "block_table must hold integers")
        }
        let (rows, width) = (table.shape[0], table.shape[1])
        return try PagedKVCache(
            kPages: kPages, vPages: vPages, layout: pageLayout,
            blockTable: (0..<rows).map { r in Array(values[r * width..<(r + 1) * width]) },
            cacheSeqlens: lengths)
    }

    /// Q over the dense K and V gathered from `cache` (see `pagedInputs(q:kPages:vPages:)`).
    func pagedInputs<S: AttentionScalar>(q: Tensor<S>, cache: PagedKVCache<S>) throws -> AttentionInputs<S> {
        let (rows, width, lengths) = (cache.blockTable.count, cache.blockTable.first?.count ?? 0, cache.cacheSeqlens)
        guard q.shape[0] == rows else {
            throw ReferenceError.shape("q has batch \(q.shape[0]) but the block table has \(rows) rows")
        }
        // The key axis is the whole table's, max_blocks x page_size: a mask names it, dK and dV have it, and the shards
        // split it. A plain forward on one shard (whose outputs do not depend on it) gathers only the blocks rows use
        // (the longest row's, whole pages): a table 10^6 wide with 20 tokens used gathers 20 tokens' pages.
        let usedBlocks = lengths.map { PagedKVCache<S>.pages(holding: $0, pageSize: cache.pageSize) }.max() ?? 0
        let whole = problem.maskPath != nil || job.backward || job.shards > 1
        let capacity = try MemoryBudget.product([whole ? width : usedBlocks, cache.pageSize], for: "the paged cache")
        var work = AttentionWork(
            batch: rows, heads: q.shape[1], queries: q.shape[2], keys: capacity, headDim: cache.headDim,
            valueDim: cache.valueDim, shards: job.shards, backward: job.backward)
        work.elements += Double(rows) * Double(width) + Double(cache.pages) * Double(cache.pageSize)
        try checkTime(work, for: "paged attention")
        // The dense copy of K and V, on top of what is already held.
        try MemoryBudget.current.check(
            try MemoryBudget.product(
                [rows, cache.kvHeads, capacity, cache.headDim + cache.valueDim, MemoryLayout<S>.stride],
                for: "gathering the paged cache"), for: "gathering the paged cache")
        let (k, v) = try cache.dense(capacity: capacity, fill: 0)
        return try AttentionInputs(q: q, k: k, v: v)
    }
}
