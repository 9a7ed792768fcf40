/// `all-gather` (Llama 3's context parallelism, Dubey et al. 2024, section 3.3.2): the sequence in 2p zigzag chunks;
/// each layer all-gathers K and V (NCCL's ring all-gather, not overlapped with compute: Llama 3 accepts the exposed
/// latency because GQA keeps K/V small), then each rank attends its queries to every key they may see in one kernel.
/// Closed form on an uncontended ring: T_all-gather + T_attention, T_all-gather = (p-1)(a + S b) for a K/V chunk of S
/// bytes per rank (even splits).
struct AllGatherPrefill: PrefillProgram {
    let placement = PrefillPlacement.zigzag

    func build(_ c: PrefillContext) throws -> PrefillPhases {
        let p = c.ranks, n = c.n
        let gather = try Collective(
            .allgather, algorithm: .ring, bytes: c.kvBytes(tokens: n), options: c.options.collective
        ).phases(ranks: p, serverGroups: c.cluster.serverGroups)
        let pairs = (0..<p).map { placement.visiblePairsOfAllKeys(queries: $0, ranks: p, tokens: n, causal: c.causal) }
        let attention = ListProgram(
            singleLane: (0..<p).map { r in
                [.compute(c.block(queries: c.tokens(placement, rank: r), keys: n, pairs: pairs[r]), label: "attention")]
            })
        var notes = ["K/V all-gathered with NCCL's ring all-gather, not overlapped with compute (as in Llama 3)"]
        if n % p != 0 {
            notes.append("the all-gather is simulated with equal shares of the K/V (\(n) tokens over \(p) ranks)")
        }
        return PrefillPhases(phases: gather + [attention], pairs: pairs, notes: notes)
    }

    /// Q and the output for its tokens (model dtype), the whole gathered K/V, the running output and log-sum-exp.
    func peakMemoryBytes(_ c: PrefillContext) -> Double {
        let t = (0..<c.ranks).map { c.tokens(placement, rank: $0) }.max() ?? 0
        let w = c.workload
        return Double(w.batch) * Double(t) * Double(w.modelDim + w.outputDim) * Double(w.elementBytes)
            + c.kvBytes(tokens: c.n)
            + c.partialBytes(tokens: t)
    }
}
