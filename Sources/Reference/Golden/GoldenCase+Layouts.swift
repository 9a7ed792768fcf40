import RealModule

/// What a layout's generator hands back to `GoldenCase.init`.
struct GeneratedCase {
    var tensors: [(name: String, data: TensorData)]
    var metadata: [String: String]
    var outputTolerance: GoldenTolerance
    var lseTolerance: GoldenTolerance
    /// Tolerances of further checked tensors (a kvcache case's updated caches).
    var extraTolerances: [(name: String, tolerance: GoldenTolerance)] = []
    /// The output's tolerance per naive-pipeline variant, the default first (an FP8 case's); empty for others.
    var outputVariants: [(name: String, tolerance: GoldenTolerance)] = []
}

extension GoldenCase {
    /// Varlen: packed q (total_q, Hq, D), k and v (total_k, Hkv, D) from seeded normals rounded once to `dtype`,
    /// cu_seqlens_q/k (int32); goldens per sequence from the energy formulation, out (total_q, Hq, Dv) and lse
    /// (Hq, total_q), FlashAttention's varlen layouts.
    static func varlen(_ spec: GoldenCaseSpec, dtype: DType) throws -> GeneratedCase {
        let layout = try VarlenLayout(seqlensQ: spec.seqlensQ ?? [], seqlensK: spec.seqlensK ?? [])
        let (tq, tk) = (layout.cuSeqlensQ.last!, layout.cuSeqlensK.last!)
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        func quantised(_ shape: [Int], _ s: Double) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s).map { Rounding.to(dtype, $0) })
        }
        let q = try quantised([tq, spec.heads, spec.headDim], std)
        var k = try quantised([tk, spec.kvHeadCount, spec.headDim], std)
        var v = try quantised([tk, spec.kvHeadCount, spec.valueDimension], 1)
        let options = try spec.options(dtype: dtype)
        // FlashAttention 3's seqused_q/seqused_k: sequence i uses only its first seqused rows (its causal alignment
        // too); the rest are storage the kernel must not read (keys) and need not write (queries: 0 and -inf).
        let usedQ = spec.sequsedQ ?? spec.seqlensQ ?? [], usedK = spec.sequsedK ?? spec.seqlensK ?? []
        let used = try layout.using(queries: spec.sequsedQ, keys: spec.sequsedK)
        // Keys past seqused_k are NaN in the file: a kernel that reads them fails.
        for i in usedK.indices {
            for t in used.keys(i).upperBound..<layout.cuSeqlensK[i + 1] {
                let (rk, rv) = (k.count / max(tk, 1), v.count / max(tk, 1))
                for e in 0..<rk { k.data[t * rk + e] = .nan }
                for e in 0..<rv { v.data[t * rv + e] = .nan }
            }
        }
        let golden = try VarlenAttention.run(q: q, k: k, v: v, layout: used, options: options) {
            try AttentionEnergy(inputs: $0, options: $1).partial()
        }
        let naive = try VarlenAttention.run(q: q, k: k, v: v, layout: used, options: options) { x, o in
            let r = try NaivePipeline.run(x, options: o, dtype: dtype)
            return try AttentionPartial(
                output: Tensor(shape: [1, x.queryHeads, x.queries, x.valueDim], data: r.output),
                lse: Tensor(shape: [1, x.queryHeads, x.queries], data: r.lse))
        }
        let i32 = { (xs: [Int]) in try TensorData(values: xs.map(Double.init), shape: [xs.count], dtype: .i32) }
        var tensors: [(name: String, data: TensorData)] = [
            ("q", try TensorData(q, dtype: dtype)), ("k", try TensorData(k, dtype: dtype)),
            ("v", try TensorData(v, dtype: dtype)),
            ("cu_seqlens_q", try i32(layout.cuSeqlensQ)), ("cu_seqlens_k", try i32(layout.cuSeqlensK)),
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)),
            ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        var metadata = [
            "layout": "varlen", "q_layout": "thd (total_q, heads, head_dim)",
            "kv_layout": "thd (total_k, kv_heads, dim)",
            "out_layout": "thd (total_q, heads, value_dim)", "lse_layout": "ht (heads, total_q)",
            "varlen":
                "sequence i: queries cu_seqlens_q[i]..<cu_seqlens_q[i+1], keys cu_seqlens_k[i]..<cu_seqlens_k[i+1]; causal, window and ALiBi aligned per sequence",
        ]
        if spec.sequsedQ != nil || spec.sequsedK != nil {
            tensors.append(("seqused_q", try i32(usedQ)))
            tensors.append(("seqused_k", try i32(usedK)))
            let rowUsed = usedQ.indices.flatMap { i in layout.queries(i).map { used.queries(i).contains($0) ? 1.0 : 0 }
            }
            tensors.append(("q_used", try TensorData(values: rowUsed, shape: [tq], dtype: .u8)))
            metadata["seqused"] =
                "FlashAttention 3's seqused_q/seqused_k: sequence i uses its first seqused_q[i] queries and seqused_k[i] keys (causal alignment from those lengths); the rest are storage: keys there hold NaN and must not be read, query rows there are not compared (q_used is 0 for them; the golden holds 0 and -inf)"
        }
        if let sinks = options.sinks {
            tensors.append(("sinks", try TensorData(try Tensor(shape: [spec.heads], data: sinks), dtype: dtype)))
            metadata["sinks"] =
                "sinks: one logit per query head, rounded once to \(dtype.rawValue), in every row's softmax denominator with value 0, in every sequence; lse includes it"
        }
        return GeneratedCase(
            tensors: tensors, metadata: metadata,
            outputTolerance: GoldenTolerance.derive(golden: golden.output.data, naive: naive.output.data, dtype: dtype),
            lseTolerance: GoldenTolerance.derive(golden: golden.lse.data, naive: naive.lse.data, dtype: .f32))
    }

    /// Paged: the dense case's K and V (B, Hkv, capacity, D) written into pages instead. Pages are shuffled (a
    /// seeded permutation, so the block table is not the identity); every slot past a row's length, every page no
    /// row uses and the block table's padding entries (which name an unused page) hold NaN. Also FlashInfer's
    /// kv_indptr / kv_indices / kv_last_page_len.
    static func paged(_ spec: GoldenCaseSpec, dtype: DType, k: Tensor<Double>, v: Tensor<Double>) throws
        -> [(name: String, data: TensorData)]
    {
        let layout = PageLayout(rawValue: spec.pageLayout ?? "nhd") ?? .nhd
        let ps = spec.pageSize ?? 16
        let lengths = spec.cacheSeqlens ?? []
        let (b, h, cap, d, dv) = (spec.batch, spec.kvHeadCount, spec.seqK, spec.headDim, spec.valueDimension)
        let blocks = lengths.map { PagedKVCache<Double>.pages(holding: $0, pageSize: ps) }
        let used = blocks.reduce(0, +), spare = 2
        let pages = used + spare
        // Seeded permutation of the page ids (Fisher-Yates on its own stream, so the dense tensors keep their bytes).
        var g = SeededGenerator(seed: (spec.seed ?? 0) ^ 0x5EED_9A6E)
        var ids = Array(0..<pages)
        for i in stride(from: pages - 1, to: 0, by: -1) { ids.swapAt(i, Int(g.uniform() * Double(i + 1))) }
        let maxBlocks = max(1, blocks.max() ?? 1)
        var table = [[Int]](repeating: [], count: b)
        var next = 0
        for row in 0..<b {
            table[row] = (0..<blocks[row]).map { _ in
                defer { next += 1 }
                return ids[next]
            }
            // Padding names an unused page.
            table[row] += Array(repeating: ids[pages - 1], count: maxBlocks - blocks[row])
        }
        func pageTensor(_ dense: Tensor<Double>, dim: Int) -> [Double] {
            var out = [Double](repeating: .nan, count: pages * ps * h * dim)
            for row in 0..<b {
                for t in 0..<lengths[row] {
                    let page = table[row][t / ps], slot = t % ps
                    for head in 0..<h {
                        let base =
                            layout == .nhd
                            ? ((page * ps + slot) * h + head) * dim : ((page * h + head) * ps + slot) * dim
                        for c in 0..<dim { out[base + c] = dense.data[((row * h + head) * cap + t) * dim + c] }
                    }
                }
            }
            return out
        }
        let shape = { (dim: Int) in layout == .nhd ? [pages, ps, h, dim] : [pages, h, ps, dim] }
        let cache = try PagedKVCache(
            kPages: Tensor(shape: shape(d), data: pageTensor(k, dim: d)),
            vPages: Tensor(shape: shape(dv), data: pageTensor(v, dim: dv)),
            layout: layout, blockTable: table, cacheSeqlens: lengths)
        let csr = cache.flashInferIndices
        let i32 = { (xs: [Int], shape: [Int]) in try TensorData(values: xs.map(Double.init), shape: shape, dtype: .i32)
        }
        return [
            ("k_cache", try TensorData(cache.kPages, dtype: dtype)),
            ("v_cache", try TensorData(cache.vPages, dtype: dtype)),
            ("block_table", try i32(table.flatMap { $0 }, [b, maxBlocks])), ("cache_seqlens", try i32(lengths, [b])),
            ("kv_indptr", try i32(csr.indptr, [b + 1])), ("kv_indices", try i32(csr.indices, [csr.indices.count])),
            ("kv_last_page_len", try i32(csr.lastPageLength, [b])),
        ]
    }

    /// The metadata of a paged case's layout: `kv_layout` and how `paging` maps tokens to slots.
    static func pagedMetadata(_ spec: GoldenCaseSpec) -> [String: String] {
        [
            "kv_layout": "paged-\(spec.pageLayout ?? "nhd")",
            "paging":
                "token t of batch row b: slot t % page_size of page block_table[b][t / page_size]; k_cache/v_cache are "
                + ((spec.pageLayout ?? "nhd") == "hnd"
                    ? "(num_pages, kv_heads, page_size, dim)" : "(num_pages, page_size, kv_heads, dim)")
                + "; pages shuffled; unused slots, unused pages and the block table's padding (an unused page) hold NaN; "
                + "kv_indptr/kv_indices/kv_last_page_len are FlashInfer's form of the same table",
        ]
    }

    /// Merge: `partials` states (v, s) per (row, head), v in `dtype`, s in f32 in `lse_base`; some partials are
    /// -inf (empty) and every fifth row is -inf in all of them. The goldens are their merge in f64 (portable exp/log,
    /// compensated sums); tolerances from the same merge in f32 (v rounded to `dtype`).
    static func merge(_ spec: GoldenCaseSpec, dtype: DType) throws -> GeneratedCase {
        let (rows, n, h, d) = (spec.seqQ, spec.partials ?? 2, spec.heads, spec.headDim)
        let base2 = spec.lseBase == "2"
        let ln = base2 ? 0.6931471805599453 : 1.0
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let v = g.normals(rows * n * h * d).map { Rounding.to(dtype, $0) }
        var s = g.normals(rows * n * h, std: spec.std ?? 2).map { Double(Float($0)) }
        for r in 0..<rows {
            for p in 0..<n {
                for head in 0..<h where r % 5 == 4 || (r + 2 * p + head) % 7 == 3 {
                    s[(r * n + p) * h + head] = -.infinity
                }
            }
        }
        var out = [Double](repeating: 0, count: rows * h * d), lse = [Double](repeating: -.infinity, count: rows * h)
        var naiveOut = out, naiveLSE = lse
        for r in 0..<rows {
            for head in 0..<h {
                let states = (0..<n).map { s[(r * n + $0) * h + head] }
                let vRow = { (p: Int) in (r * n + p) * h * d + head * d }
                let m = states.max()!
                guard m != -.infinity else { continue }
                let w = states.map { $0 == -.infinity ? 0 : PortableMath.exp(($0 - m) * ln) }
                var total = CompensatedSum()
                for x in w { total.add(x) }
                lse[r * h + head] = m + PortableMath.log(total.value) / ln
                for c in 0..<d {
                    var acc = CompensatedSum()
                    for p in 0..<n where w[p] != 0 { acc.add(w[p] * v[vRow(p) + c]) }
                    out[(r * h + head) * d + c] = acc.value / total.value
                }
                // The naive merge: f32 weights and sums, the output rounded to the dtype.
                let wf = states.map {
                    $0 == -.infinity ? Float(0) : Float(PortableMath.exp(Double(Float($0 - m)) * ln))
                }
                let tf = wf.reduce(Float(0), +)
                naiveLSE[r * h + head] = Double(Float(m) + Float(PortableMath.log(Double(tf)) / ln))
                for c in 0..<d {
                    var acc: Float = 0
                    for p in 0..<n { acc += wf[p] * Float(v[vRow(p) + c]) }
                    naiveOut[(r * h + head) * d + c] = Rounding.to(dtype, Double(acc / tf))
                }
            }
        }
        var tensors: [(name: String, data: TensorData)] = []
        if n == 2 {
            // FlashInfer's merge_state(v_a, s_a, v_b, s_b): (rows, heads, dim) and (rows, heads).
            for (p, suffix) in ["a", "b"].enumerated() {
                var vp: [Double] = [], sp: [Double] = []
                for r in 0..<rows {
                    let state = r * n + p
                    vp += v[state * h * d..<(state + 1) * h * d]
                    sp += s[state * h..<(state + 1) * h]
                }
                tensors.append(("v_\(suffix)", try TensorData(values: vp, shape: [rows, h, d], dtype: dtype)))
                tensors.append(("s_\(suffix)", try TensorData(values: sp, shape: [rows, h], dtype: .f32)))
            }
        } else {
            // merge_states(v, s): (rows, states, heads, dim) and (rows, states, heads).
            tensors.append(("v", try TensorData(values: v, shape: [rows, n, h, d], dtype: dtype)))
            tensors.append(("s", try TensorData(values: s, shape: [rows, n, h], dtype: .f32)))
        }
        tensors += [
            ("out", try TensorData(values: out, shape: [rows, h, d], dtype: .f64)),
            ("lse", try TensorData(values: lse, shape: [rows, h], dtype: .f64)),
            ("out_f32", try TensorData(values: out, shape: [rows, h, d], dtype: .f32)),
            ("lse_f32", try TensorData(values: lse, shape: [rows, h], dtype: .f32)),
        ]
        return GeneratedCase(
            tensors: tensors,
            metadata: [
                "layout": "merge", "lse_base": base2 ? "2" : "e", "out_layout": "(rows, heads, head_dim)",
                "lse_layout": "(rows, heads)",
                "merge": n == 2
                    ? "merge_state(v_a, s_a, v_b, s_b) -> (out, lse); FlashInfer names v_merged, s_merged are accepted by check"
                    : "merge_states(v, s) -> (out, lse); FlashInfer names v_merged, s_merged are accepted by check",
                "empty": "s = -inf marks an empty partial; a row whose partials are all -inf merges to out 0, lse -inf",
            ],
            outputTolerance: GoldenTolerance.derive(golden: out, naive: naiveOut, dtype: dtype),
            lseTolerance: GoldenTolerance.derive(golden: lse, naive: naiveLSE, dtype: .f32))
    }
}
