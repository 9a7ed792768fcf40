extension GoldenCase {
    /// flash_attn_with_kvcache (`KVCacheUpdate`): seeded queries, a cache of `cache_rows` rows (every slot drawn, so
    /// a kernel that writes past its tokens changes it), new keys and values appended at `cache_seqlens`, then
    /// attention over each row's [cache_leftpad, cache_seqlens + new). With rope, q and the new keys are rotated
    /// (rounded once to the dtype, as the kernel writes them) and the cache's old keys count as already rotated.
    /// Goldens: the output and LSE, and the updated caches in the dtype (`k_cache_updated`, `v_cache_updated`). With
    /// `page_size` the caches are pages (every slot used, pages shuffled) with a block table.
    static func kvcache(_ spec: GoldenCaseSpec, dtype: DType) throws -> GeneratedCase {
        let (b, hq, hkv, sq, cap, d, dv) = (
            spec.batch, spec.heads, spec.kvHeadCount, spec.seqQ, spec.seqK, spec.headDim, spec.valueDimension
        )
        let new = spec.newTokens ?? sq, rows = spec.cacheRows ?? b
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        func quantised(_ shape: [Int], _ s: Double) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s).map { Rounding.to(dtype, $0) })
        }
        let q = try quantised([b, hq, sq, d], std)
        let kCache = try quantised([rows, hkv, cap, d], std), vCache = try quantised([rows, hkv, cap, dv], 1)
        let kNew = try quantised([b, hkv, new, d], std), vNew = try quantised([b, hkv, new, dv], 1)
        let lengths = spec.cacheSeqlens ?? []
        let after = lengths.map { $0 + new }
        let origin = { (row: Int) in spec.ropePositions == "from-first-token" ? (spec.cacheLeftpad?[row] ?? 0) : 0 }
        let queryPositions = (0..<b).map { row in (0..<sq).map { max(0, $0 + after[row] - sq - origin(row)) } }
        let newPositions = (0..<b).map { row in (0..<new).map { max(0, lengths[row] + $0 - origin(row)) } }
        let rope = try spec.rotary()
        func rounded(_ t: Tensor<Double>) -> Tensor<Double> { t.map { Rounding.to(dtype, $0) } }
        let qRot = try rope.map { rounded(try $0.rotate(q, positions: queryPositions)) } ?? q
        let kNewRot = try rope.map { rounded(try $0.rotate(kNew, positions: newPositions)) } ?? kNew
        let update = try KVCacheUpdate(
            kCache: kCache, vCache: vCache, kNew: kNewRot, vNew: vNew, cacheSeqlens: lengths,
            batchIndex: spec.cacheBatchIndex)
        let (kUpdated, vUpdated) = update.updated()
        var options = try spec.options(dtype: dtype)
        options.cacheSeqlens = update.lengthsAfter
        let inputs = try update.attentionInputs(q: qRot, k: kUpdated, v: vUpdated)
        let golden = try AttentionEnergy(inputs: inputs, options: options).partial()
        // The naive pipeline: rotation in the dtype (as Hugging Face does it), the same update, the naive attention.
        let naiveQ = try rope.map { try naiveRotate(q, rope: $0, positions: queryPositions, dtype: dtype) } ?? q
        let naiveKNew = try rope.map { try naiveRotate(kNew, rope: $0, positions: newPositions, dtype: dtype) } ?? kNew
        let naiveUpdate = try KVCacheUpdate(
            kCache: kCache, vCache: vCache, kNew: naiveKNew, vNew: vNew, cacheSeqlens: lengths,
            batchIndex: spec.cacheBatchIndex)
        let naiveCaches = naiveUpdate.updated()
        let naive = try NaivePipeline.run(
            try naiveUpdate.attentionInputs(q: naiveQ, k: naiveCaches.k, v: naiveCaches.v), options: options,
            dtype: dtype)

        let i32 = { (xs: [Int], shape: [Int]) in try TensorData(values: xs.map(Double.init), shape: shape, dtype: .i32)
        }
        var caches: [(String, Tensor<Double>)] = [
            ("k_cache", kCache), ("v_cache", vCache), ("k_cache_updated", kUpdated), ("v_cache_updated", vUpdated),
        ]
        var tensors: [(name: String, data: TensorData)] = [("q", try TensorData(q, dtype: dtype))]
        var paging = ""
        if let ps = spec.pageSize {
            // Pages: every row's capacity in cap / ps pages, shuffled; block_table (B, cap / ps).
            let perRow = cap / ps, pages = rows * perRow + 2
            var ids = Array(0..<pages)
            var shuffle = SeededGenerator(seed: (spec.seed ?? 0) ^ 0x5EED_9A6E)
            for i in stride(from: pages - 1, to: 0, by: -1) { ids.swapAt(i, Int(shuffle.uniform() * Double(i + 1))) }
            let table = (0..<b).map { bi in (0..<perRow).map { ids[update.row(bi) * perRow + $0] } }
            caches = try caches.map { name, dense in
                (
                    name,
                    try Self.pages(
                        dense, table: table, rows: (0..<b).map(update.row), pages: pages, pageSize: ps,
                        seed: spec.seed ?? 0)
                )
            }
            tensors.append(("block_table", try i32(table.flatMap { $0 }, [b, perRow])))
            paging =
                "; the caches are pages (num_pages, page_size, kv_heads, dim): token t of batch element b is slot t % page_size of page block_table[b][t / page_size]; every slot holds a value (the spare pages too), pages shuffled"
        }
        for (name, t) in caches { tensors.append((name, try TensorData(t, dtype: dtype))) }
        tensors += [
            ("k_new", try TensorData(kNew, dtype: dtype)), ("v_new", try TensorData(vNew, dtype: dtype)),
            ("cache_seqlens", try i32(lengths, [b])),
        ]
        if let idx = spec.cacheBatchIndex { tensors.append(("cache_batch_idx", try i32(idx, [b]))) }
        if let pads = spec.cacheLeftpad { tensors.append(("cache_leftpad", try i32(pads, [b]))) }
        if let rope {
            tensors +=
                [
                    ("q_rotated", try TensorData(qRot, dtype: dtype)),
                    ("k_new_rotated", try TensorData(kNewRot, dtype: dtype)),
                    ("q_positions", try i32(queryPositions.flatMap { $0 }, [b, sq])),
                    ("k_new_positions", try i32(newPositions.flatMap { $0 }, [b, new])),
                ] + (try rotaryTables(rope, positions: queryPositions + newPositions))
        }
        tensors += [
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)),
            ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        var metadata = [
            "kvcache":
                "flash_attn_with_kvcache: k_new/v_new (B, Hkv, \(new), dim) appended to cache row cache_batch_idx[b] (default b) at slots cache_seqlens[b] ..< cache_seqlens[b] + \(new)\(rope != nil ? " after rotating k_new at k_new_positions (rounded once to \(dtype.rawValue), as the kernel writes it); q is rotated at q_positions; the cache's old keys count as already rotated" : ""); then q attends to its row's keys [cache_leftpad, cache_seqlens + \(new)) (bottom-right alignment at the new end). k_cache_updated/v_cache_updated are the caches after the update (every other slot unchanged); results name them the same\(paging)",
            "kv_layout": spec.pageSize == nil ? "bhsd (rows, kv_heads, capacity, dim)" : "paged-nhd",
        ]
        if let rope {
            metadata["rope"] =
                "\(rope.layout == .neox ? "GPT-NeoX halves" : "GPT-J interleaved"), rotary_dim \(rope.rotaryDim), theta \(rope.theta)\(rope.llama3 != nil ? ", Llama 3.1 scaling" : ""); positions \(spec.ropePositions ?? "absolute")"
        }
        return GeneratedCase(
            tensors: tensors, metadata: metadata,
            outputTolerance: GoldenTolerance.derive(golden: golden.output.data, naive: naive.output, dtype: dtype),
            lseTolerance: GoldenTolerance.derive(golden: golden.lse.data, naive: naive.lse, dtype: .f32),
            extraTolerances: [
                (
                    "k_cache_updated",
                    GoldenTolerance.derive(golden: kUpdated.data, naive: naiveCaches.k.data, dtype: dtype)
                ),
                (
                    "v_cache_updated",
                    GoldenTolerance.derive(golden: vUpdated.data, naive: naiveCaches.v.data, dtype: dtype)
                ),
            ])
    }

    /// A dense cache (rows, heads, cap, dim) as pages (pages, pageSize, heads, dim): row `rows[b]`'s block j in page
    /// table[b][j]; the rows no batch element names and the spare pages get seeded values of their own.
    static func pages(
        _ dense: Tensor<Double>, table: [[Int]], rows: [Int], pages: Int, pageSize ps: Int, seed: UInt64
    ) throws -> Tensor<Double> {
        let (h, cap, d) = (dense.shape[1], dense.shape[2], dense.shape[3])
        var filler = SeededGenerator(seed: seed ^ 0xFA11)
        var out = try Tensor(shape: [pages, ps, h, d], data: filler.normals(pages * ps * h * d))
        // Every slot holds a value (pages of rows no batch element names, and the spares, their own seeded ones).
        for (b, blocks) in table.enumerated() {
            for (j, page) in blocks.enumerated() {
                for slot in 0..<ps {
                    for head in 0..<h {
                        let src = ((rows[b] * h + head) * cap + j * ps + slot) * d
                        let dst = ((page * ps + slot) * h + head) * d
                        for c in 0..<d { out.data[dst + c] = dense.data[src + c] }
                    }
                }
            }
        }
        return out
    }
}
