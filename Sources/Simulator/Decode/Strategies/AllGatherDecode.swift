/// `all-gather` (Llama 3's context parallelism run for decode): every rank all-gathers the whole K/V (NCCL's ring
/// all-gather of the n_kv-head cache, model dtype), then runs flash-decode over all N tokens itself. Closed form on an
/// uncontended ring: (p-1)(a + S b) + T(N), S the K/V bytes of one rank's N/p tokens: the baseline that shows why
/// context-parallel decode reduces partials instead of moving the cache.
struct AllGatherDecode: DecodeProgram {
    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, p = c.ranks
        let gather = try Collective(
            .allgather, algorithm: .ring, bytes: w.kvElements(tokens: w.sequenceLength) * Double(w.elementBytes),
            options: c.options.collective
        ).phases(ranks: p, serverGroups: c.cluster.serverGroups)
        var notes = ["the whole K/V cache is all-gathered to every rank (ring all-gather, model dtype)"]
        if w.sequenceLength % p != 0 {
            notes.append("the all-gather is simulated with equal shares of the \(w.sequenceLength) tokens")
        }
        return DecodePhases(
            phases: gather + [c.everyRank(c.roofline.flashDecode(tokens: w.sequenceLength, w), label: "flash-decode")],
            notes: notes, sentElementBytes: Double(w.elementBytes))
    }

    /// The whole K/V, q and output in the model dtype, and the partial statistics.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch)
        let kv = w.kvElements(tokens: w.sequenceLength)
        let model = kv + b * Double(w.modelDim + w.outputDim)
        return (model, model * Double(w.elementBytes))
    }

    func backward() throws -> DecodeBackwardProgram {
        throw SimulatorError.noBackward(
            "all-gather", "modelled for inference; its backward would reduce-scatter dK and dV over the ranks")
    }
}
