/// FlashAttention's `flash_attn_with_kvcache` update, as data: new keys and values appended to a KV cache at each
/// row's `cache_seqlens` (after any rotation of the new keys), then attention of the new queries over the row's valid
/// keys [cache_leftpad, cache_seqlens + new).
///
/// The cache has R rows (B, or more with `batchIndex`: batch element b uses cache row batchIndex[b], FlashAttention's
/// `cache_batch_idx`; rows no element names are left as they are). Slots past a row's new length keep their contents.
public struct KVCacheUpdate<S: AttentionScalar>: Sendable {
    /// K cache before the update, (rows, KV heads, capacity, head dim).
    public let kCache: Tensor<S>
    /// V cache before the update, (rows, KV heads, capacity, value dim).
    public let vCache: Tensor<S>
    /// New keys, (batch, KV heads, new tokens, head dim), already rotated if the kernel rotates them.
    public let kNew: Tensor<S>
    /// New values, (batch, KV heads, new tokens, value dim).
    public let vNew: Tensor<S>
    /// Per batch element, its tokens in the cache before the update (the slot the first new token goes to).
    public let cacheSeqlens: [Int]
    /// Per batch element, its cache row (nil: row b).
    public let batchIndex: [Int]?

    /// Checks shapes, that every batch element's new tokens fit its row, and that no row is named twice (the kernels
    /// leave that undefined).
    public init(
        kCache: Tensor<S>, vCache: Tensor<S>, kNew: Tensor<S>, vNew: Tensor<S>,
        cacheSeqlens: [Int], batchIndex: [Int]? = nil
    ) throws {
        guard kCache.rank == 4, vCache.rank == 4, kNew.rank == 4, vNew.rank == 4,
            Array(kCache.shape.prefix(3)) == Array(vCache.shape.prefix(3)),
            Array(kNew.shape.prefix(3)) == Array(vNew.shape.prefix(3)), kNew.shape[1] == kCache.shape[1],
            kNew.shape[3] == kCache.shape[3], vNew.shape[3] == vCache.shape[3]
        else {
            throw ReferenceError.shape(
                "kv cache update shapes do not fit: k_cache \(kCache.shape), v_cache \(vCache.shape), k_new \(kNew.shape), v_new \(vNew.shape)"
            )
        }
        let (rows, capacity, batch, new) = (kCache.shape[0], kCache.shape[2], kNew.shape[0], kNew.shape[2])
        guard cacheSeqlens.count == batch else {
            throw ReferenceError.invalidOption(
                "cache_seqlens needs one length per batch row (\(batch)), got \(cacheSeqlens.count)")
        }
        for (b, length) in cacheSeqlens.enumerated() where length < 0 || length > capacity - new {
            throw ReferenceError.invalidOption(
                "batch row \(b): cache_seqlens \(length) + \(new) new tokens do not fit the cache's \(capacity) slots")
        }
        if let batchIndex {
            guard batchIndex.count == batch else {
                throw ReferenceError.invalidOption(
                    "cache_batch_idx needs one row per batch element (\(batch)), got \(batchIndex.count)")
            }
            if let bad = batchIndex.first(where: { $0 < 0 || $0 >= rows }) {
                throw ReferenceError.invalidOption(
                    "cache_batch_idx entry \(bad) outside 0..<\(rows) (the cache's rows)")
            }
            guard Set(batchIndex).count == batch else {
                throw ReferenceError.invalidOption(
                    "cache_batch_idx names a cache row twice (the update would be undefined)")
            }
        } else if rows != batch {
            throw ReferenceError.invalidOption(
                "a cache of \(rows) rows for \(batch) batch elements needs cache_batch_idx")
        }
        (self.kCache, self.vCache, self.kNew, self.vNew) = (kCache, vCache, kNew, vNew)
        (self.cacheSeqlens, self.batchIndex) = (cacheSeqlens, batchIndex)
    }

    /// The cache row of batch element b.
    public func row(_ b: Int) -> Int { batchIndex?[b] ?? b }

    /// Per batch element, its tokens after the update.
    public var lengthsAfter: [Int] { cacheSeqlens.map { $0 + kNew.shape[2] } }

    /// The caches after the update: new token t of element b in slot cacheSeqlens[b] + t of row row(b).
    public func updated() -> (k: Tensor<S>, v: Tensor<S>) {
        func write(_ cache: Tensor<S>, _ new: Tensor<S>) -> Tensor<S> {
            var out = cache
            let (h, cap, d, s) = (cache.shape[1], cache.shape[2], cache.shape[3], new.shape[2])
            for b in 0..<new.shape[0] {
                for head in 0..<h {
                    for t in 0..<s {
                        let dst = ((row(b) * h + head) * cap + cacheSeqlens[b] + t) * d
                        let src = ((b * h + head) * s + t) * d
                        for c in 0..<d { out.data[dst + c] = new.data[src + c] }
                    }
                }
            }
            return out
        }
        return (write(kCache, kNew), write(vCache, vNew))
    }

    /// The attention inputs of `q` over the updated caches: batch element b reads cache row row(b) (the caller's
    /// options give the valid keys: lengths `lengthsAfter`, left padding).
    public func attentionInputs(q: Tensor<S>, k: Tensor<S>, v: Tensor<S>) throws -> AttentionInputs<S> {
        func rows(_ cache: Tensor<S>) throws -> Tensor<S> {
            let per = cache.count / max(cache.shape[0], 1)
            var data: [S] = []
            data.reserveCapacity(per * kNew.shape[0])
            for b in 0..<kNew.shape[0] { data += cache.data[row(b) * per..<(row(b) + 1) * per] }
            return try Tensor(shape: [kNew.shape[0]] + Array(cache.shape.dropFirst()), data: data)
        }
        return try AttentionInputs(q: q, k: rows(k), v: rows(v))
    }
}

extension PagedKVCache where Element: AttentionScalar {
    /// The cache after flash_attn_with_kvcache's update of a paged cache: new token t of batch row b (`kNew`, `vNew`
    /// (batch, KV heads, new tokens, dim), already rotated if the kernel rotates them) written to slot
    /// cacheSeqlens[b] + t of the row, page blockTable[b][slot / pageSize]; the lengths grow by the new tokens. The
    /// block table must hold the grown rows, and no page slot may be written twice (the kernels leave that
    /// undefined).
    public func appending(kNew: Tensor<Element>, vNew: Tensor<Element>) throws -> PagedKVCache {
        let (b, new) = (cacheSeqlens.count, kNew.shape.count == 4 ? kNew.shape[2] : 0)
        guard kNew.rank == 4, vNew.rank == 4, kNew.shape == [b, kvHeads, new, headDim],
            vNew.shape == [b, kvHeads, new, valueDim]
        else {
            throw ReferenceError.shape(
                "k_new \(kNew.shape) and v_new \(vNew.shape) must be (batch \(b), kv_heads \(kvHeads), new, dim \(headDim) / \(valueDim))"
            )
        }
        let grown = try PagedKVCache(
            kPages: kPages, vPages: vPages, layout: layout, blockTable: blockTable,
            cacheSeqlens: try cacheSeqlens.map { try MemoryBudget.sum([$0, new], for: "the cache lengths") })
        var (k, v) = (kPages, vPages)
        var written = Set<Int>()
        for row in 0..<b {
            for t in 0..<new {
                let position = cacheSeqlens[row] + t
                let page = blockTable[row][position / pageSize], slot = position % pageSize
                guard written.insert(page * pageSize + slot).inserted else {
                    throw ReferenceError.invalidOption(
                        "the block table gives page \(page) slot \(slot) to two new tokens (the update would be undefined)"
                    )
                }
                for head in 0..<kvHeads {
                    let (kBase, vBase) = (
                        offset(page: page, slot: slot, head: head, dim: headDim),
                        offset(page: page, slot: slot, head: head, dim: valueDim)
                    )
                    let (kSrc, vSrc) = (
                        ((row * kvHeads + head) * new + t) * headDim, ((row * kvHeads + head) * new + t) * valueDim
                    )
                    for c in 0..<headDim { k.data[kBase + c] = kNew.data[kSrc + c] }
                    for c in 0..<valueDim { v.data[vBase + c] = vNew.data[vSrc + c] }
                }
            }
        }
        return try PagedKVCache(
            kPages: k, vPages: v, layout: layout, blockTable: blockTable, cacheSeqlens: grown.cacheSeqlens)
    }
}
