/// `ring`, `zigzag`, `striped` (pass-KV): each rank keeps its queries; the K/V chunks travel around the ring
/// (`KVRingProgram`, overlapped: send the held chunk on, compute against it, receive the next), p-1 hops, and each
/// rank computes a block against every chunk with the pairs its placement makes visible (`PrefillPlacement`). On an
/// uncontended ring with every block of time T and hop a + S b, the makespan is T + (p-1) max(T, a + S b); causally
/// masked contiguous chunks make rank p-1 compute p blocks and rank 0 one, which zigzag and striped placements even
/// out. K/V travel with the model's n_kv heads (ring-flash-attention passes k and v before any GQA repeat).
struct PassKVPrefill: PrefillProgram {
    var placement: PrefillPlacement

    func build(_ c: PrefillContext) throws -> PrefillPhases {
        let p = c.ranks, n = c.n, causal = c.causal, placement = placement
        let tokens = (0..<p).map { c.tokens(placement, rank: $0) }
        let ring = try KVRingProgram(
            ranks: p, overlap: true, chunkBytes: tokens.map { c.kvBytes(tokens: $0) },
            blocks: .pairwise(label: "attention block") { r, o in
                c.block(
                    queries: tokens[r], keys: tokens[o],
                    pairs: placement.visiblePairs(queries: r, keys: o, ranks: p, tokens: n, causal: causal))
            })
        let pairs = (0..<p).map { r in
            (0..<p).reduce(0) { $0 + placement.visiblePairs(queries: r, keys: $1, ranks: p, tokens: n, causal: causal) }
        }
        return PrefillPhases(
            phases: [ring], pairs: pairs,
            notes: ["K/V chunks sent with the model's \(c.workload.kvHeads) K/V heads, \(placement.rawValue) placement"]
        )
    }

    /// Q and the output (model dtype), two K/V chunks (the one computed on and the one arriving), and the running
    /// output and log-sum-exp (partial precision).
    func peakMemoryBytes(_ c: PrefillContext) -> Double {
        let t = (0..<c.ranks).map { c.tokens(placement, rank: $0) }.max() ?? 0
        let w = c.workload
        return Double(w.batch) * Double(t) * Double(w.modelDim + w.outputDim) * Double(w.elementBytes) + 2
            * c.kvBytes(tokens: t)
            + c.partialBytes(tokens: t)
    }
}
