import Foundation

extension AttentionJob {
    /// flash_attn_with_kvcache's update as a job option: `kNew` and `vNew` (files; tensors `k_new`, `v_new` in a
    /// .safetensors) are appended to the cache (the job's k and v, tensors `k_cache`, `v_cache` in a .safetensors;
    /// dense in the problem's layout, or the pages of a paged cache) at the problem's cache lengths, which are the
    /// lengths before the update; then q attends to each row's keys [cache_leftpad, cache_seqlens + new). With the
    /// problem's rotary embedding, q is rotated at positions cache_seqlens + new - seq_q + i and the new keys at
    /// cache_seqlens + t (less the left padding with `AttentionProblem.ropeFromFirstToken`; the cache's old keys
    /// count as already rotated), both rounded once to their file's dtype as
    /// the kernel writes them. The updated caches are outputs (`Outputs.kCache`, `Outputs.vCache`, or
    /// `k_cache_updated`/`v_cache_updated` in a .safetensors bundle).
    public struct CacheAppend: Sendable {
        /// The new keys' file: (batch, new, kv_heads, dim) in bshd, (batch, kv_heads, new, dim) in bhsd.
        public var kNew: String
        /// The new values' file, the new keys' shape with the value dim.
        public var vNew: String
        /// FlashAttention's `cache_batch_idx`: batch element b uses cache row batchIndex[b] (dense caches only; nil:
        /// row b).
        public var batchIndex: [Int]?

        /// An update appending `kNew` and `vNew`.
        public init(kNew: String, vNew: String, batchIndex: [Int]? = nil) {
            (self.kNew, self.vNew, self.batchIndex) = (kNew, vNew, batchIndex)
        }
    }

    /// Refuses what an update cannot run with.
    func validateAppend(_ append: CacheAppend) throws {
        guard problem.cacheSeqlens != nil else {
            throw ReferenceError.invalidOption("a KV-cache update needs the cache lengths before it (cache_seqlens)")
        }
        if case .varlen = keys {
            throw ReferenceError.invalidOption("a KV-cache update takes a dense or paged cache, not varlen inputs")
        }
        if backward {
            throw ReferenceError.invalidOption(
                "a KV-cache update is a forward (flash_attn_with_kvcache has no backward)")
        }
        if keys.isPaged, append.batchIndex != nil {
            throw ReferenceError.invalidOption(
                "cache_batch_idx needs a dense cache (with pages the block table names each row's pages)")
        }
    }
}

extension AttentionJob.Run {
    /// flash_attn_with_kvcache: q, the caches and the new keys and values read into S; the new tokens (and q)
    /// rotated when the problem has rope; the caches updated; the forward over the updated caches; the updated
    /// caches written beside the output.
    mutating func computeAppend<S: AttentionScalar>(_: S.Type, _ append: AttentionJob.CacheAppend) throws {
        let paged = job.keys.isPaged
        let files = try AttentionFiles(
            paths: [job.q, job.k, job.v, append.kNew, append.vNew],
            roles: ["q", "k_cache", "v_cache", "k_new", "v_new"], layout: problem.layout)
        let swap = problem.layout.swapsAxes
        let shapes = files.shapes
        // The inputs, the updated caches and their gathered (paged) or encoded copies.
        try checkMemory(
            S.self, inputShapes: shapes + [shapes[1], shapes[2], shapes[1], shapes[2]],
            elementBytes: MemoryLayout<S>.size)
        let (t, bad) = try files.values(as: S.self, swap: [swap, swap && !paged, swap && !paged, swap, swap])
        var (q, kNew) = (t[0], t[3])
        let lengths = problem.cacheSeqlens ?? []
        guard q.shape[0] == lengths.count, kNew.shape[0] == lengths.count else {
            throw ReferenceError.invalidOption(
                "cache_seqlens needs one length per batch element (q \(q.shape[0]), k_new \(kNew.shape[0])), got \(lengths.count)"
            )
        }
        if let rope = problem.rotation(headDim: q.shape[3]) {
            let (sq, new) = (q.shape[2], kNew.shape[2])
            let dtypes = files.sources.map(\.stored.dtype)
            let origins = problem.rotaryOrigins(batch: lengths.count)
            let qp = zip(lengths, origins).map { n, o in (0..<sq).map { max(0, $0 + n + new - sq - o) } }
            let kp = zip(lengths, origins).map { n, o in (0..<new).map { max(0, n + $0 - o) } }
            q = try rope.rotate(q, positions: qp).rounded(to: dtypes[0])
            kNew = try rope.rotate(kNew, positions: kp).rounded(to: dtypes[3])
        }
        let inputs: AttentionInputs<S>
        let caches: (k: Tensor<S>, v: Tensor<S>)
        if paged {
            let grown = try pagedCache(kPages: t[1], vPages: t[2], lengths: lengths).appending(kNew: kNew, vNew: t[4])
            caches = (grown.kPages, grown.vPages)
            inputs = try pagedInputs(q: q, cache: grown)
        } else {
            let update = try KVCacheUpdate(
                kCache: t[1], vCache: t[2], kNew: kNew, vNew: t[4], cacheSeqlens: lengths,
                batchIndex: append.batchIndex)
            caches = update.updated()
            inputs = try update.attentionInputs(q: q, k: caches.k, v: caches.v)
        }
        // The attention of the updated caches: the lengths after the update, nothing left to rotate.
        job.problem.cacheSeqlens = lengths.map { $0 + kNew.shape[2] }
        job.problem.rotary = nil
        let cacheData = try (
            k: problem.data(caches.k, swap: swap && !paged), v: problem.data(caches.v, swap: swap && !paged)
        )
        try forward(
            inputs, bad: [bad[0], bad[1] + bad[3], bad[2] + bad[4]],
            isBad: ({ !inputs.k.data[$0].isFinite }, { !inputs.v.data[$0].isFinite }), caches: cacheData)
    }
}
