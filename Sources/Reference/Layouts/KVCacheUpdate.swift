/// FlashAttention's `flash_attn_with_kvcache` update, as data: new keys and values appended to a KV cache at each
/// row's `cache_seqlens` (after any rotation of the new keys), then attention of the new queries over the row's valid
/// keys [cache_leftpad, cache_seqlens + new).
///
/// The cache has R rows (B, or more with `batchIndex`: batch element b uses cache row batchIndex[b], FlashAttention's
/// `cache_batch_idx`; rows no element names are left as they are). Slots past a row's new length keep their contents.
public struct KVCacheUpdate: Sendable {
    /// K cache before the update, (rows, KV heads, capacity, head dim).
    public let kCache: Tensor<Double>
    /// V cache before the update, (rows, KV heads, capacity, value dim).
    public let vCache: Tensor<Double>
    /// New keys, (batch, KV heads, new tokens, head dim), already rotated if the kernel rotates them.
    public let kNew: Tensor<Double>
    /// New values, (batch, KV heads, new tokens, value dim).
    public let vNew: Tensor<Double>
    /// Per batch element, its tokens in the cache before the update (the slot the first new token goes to).
    public let cacheSeqlens: [Int]
    /// Per batch element, its cache row (nil: row b).
    public let batchIndex: [Int]?

    /// Checks shapes, that every batch element's new tokens fit its row, and that no row is named twice (the kernels
    /// leave that undefined).
    public init(
        kCache: Tensor<Double>, vCache: Tensor<Double>, kNew: Tensor<Double>, vNew: Tensor<Double>,
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
    public func updated() -> (k: Tensor<Double>, v: Tensor<Double>) {
        func write(_ cache: Tensor<Double>, _ new: Tensor<Double>) -> Tensor<Double> {
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
    public func attentionInputs(q: Tensor<Double>, k: Tensor<Double>, v: Tensor<Double>) throws -> AttentionInputs<
        Double
    > {
        func rows(_ cache: Tensor<Double>) throws -> Tensor<Double> {
            let per = cache.count / max(cache.shape[0], 1)
            var data: [Double] = []
            data.reserveCapacity(per * kNew.shape[0])
            for b in 0..<kNew.shape[0] { data += cache.data[row(b) * per..<(row(b) + 1) * per] }
            return try Tensor(shape: [kNew.shape[0]] + Array(cache.shape.dropFirst()), data: data)
        }
        return try AttentionInputs(q: q, k: rows(k), v: rows(v))
    }
}
