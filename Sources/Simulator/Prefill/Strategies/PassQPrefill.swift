/// `pass-q` (pass-Q ring attention, Yang et al. 2024, "Context Parallelism for Scalable Million-Token Inference"):
/// K/V stay; the zigzag query chunks travel the ring (`KVRingProgram` carrying Q, overlapped, p-1 hops), and rank r
/// computes the visiting queries of rank o against its own keys, keeping one partial output (output and log-sum-exp)
/// per origin. An all-to-all (`AllToAllProgram`) then returns each partial to its queries' owner, which merges its p
/// partials. It pays off where Q is smaller than K/V (few new tokens against a long cached context); for a full
/// prefill with GQA, Q outweighs K/V by n_h d_h / (n_kv (d_h + d_v)) and pass-KV sends less. Closed form on an
/// uncontended network: T_local + (p-1) max(T_block, a + S_Q b), then the all-to-all, then the merge.
struct PassQPrefill: PrefillProgram {
    var placement: PrefillPlacement

    func build(_ c: PrefillContext) throws -> PrefillPhases {
        let p = c.ranks, n = c.n, causal = c.causal, placement = placement, w = c.workload
        let tokens = (0..<p).map { c.tokens(placement, rank: $0) }
        let qBytes = tokens.map { Double(w.batch) * Double($0) * Double(w.modelDim) * Double(w.elementBytes) }
        let ring = try KVRingProgram(
            ranks: p, overlap: true, chunkBytes: qBytes,
            blocks: .pairwise(label: "attention block") { r, o in
                c.block(
                    queries: tokens[o], keys: tokens[r],
                    pairs: placement.visiblePairs(queries: o, keys: r, ranks: p, tokens: n, causal: causal))
            })
        let partials = tokens.map { c.partialBytes(tokens: $0) }
        let returned = try AllToAllProgram(ranks: p) { _, owner in partials[owner] }
        let merge = ListProgram(
            singleLane: tokens.map { t in
                var rows = w
                rows.batch = w.batch * t
                return [.compute(c.roofline.merge(partials: p, rows), label: "merge partials")]
            })
        let pairs = (0..<p).map { r in
            (0..<p).reduce(0) { $0 + placement.visiblePairs(queries: $1, keys: r, ranks: p, tokens: n, causal: causal) }
        }
        return PrefillPhases(
            phases: [ring, returned, merge], pairs: pairs,
            notes: [
                "queries travel (\(w.heads) heads x \(w.headDim)); partial outputs return by all-to-all in partial precision"
            ])
    }

    /// Its own K/V, two query chunks (the one computed on and the one arriving), the output (model dtype) and one
    /// partial per origin (partial precision).
    func peakMemoryBytes(_ c: PrefillContext) -> Double {
        let t = (0..<c.ranks).map { c.tokens(placement, rank: $0) }.max() ?? 0
        let w = c.workload
        return Double(w.batch) * Double(t) * Double(2 * w.modelDim + w.outputDim) * Double(w.elementBytes)
            + c.kvBytes(tokens: t)
            + Double(c.ranks) * c.partialBytes(tokens: t)
    }
}
