/// `ring` / `ring-sequential` (Ring Attention): K/V chunks travel around the ring (`KVRingProgram`), each rank
/// running flash-decode against every chunk. Overlapped: p-1 hops, T_local + (p-1) max(T_local, a + S b);
/// sequential (the JAX baseline): p hops, p (T_local + a + S b). K/V are sent expanded to n_h heads unless
/// `DecodeOptions.ringSendsExpandedKV` is off.
struct RingDecode: DecodeProgram {
    var overlap: Bool
    /// Sequential only: the chunk's p-th hop home (JAX's ppermute loop) or not (MPI_Sendrecv, p-1 hops).
    var chunkComesHome = true
    /// Messages per hop: 1 (K and V together), or 2 (K then V, as `treeattn-mpi`'s two MPI_Sendrecv calls).
    var messagesPerChunk = 1

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload
        let heads = sentHeads(c)
        let chunkBytes = c.tokens.map { 2 * Double(w.batch * $0 * heads * w.headDim * w.elementBytes) }
        let times = c.tokens.map { c.roofline.flashDecode(tokens: $0, w) }
        var notes: [String] = []
        if c.options.ringSendsExpandedKV && w.groupSize > 1 {
            notes.append("K/V sent expanded to \(w.heads) heads (GQA repeat factor \(w.groupSize))")
        }
        let ring = try KVRingProgram(ranks: c.ranks, overlap: overlap, messagesPerChunk: messagesPerChunk, chunkBytes: chunkBytes,
                                     blocks: .perChunk(times: times, label: "flash-decode"), chunkComesHome: chunkComesHome)
        return DecodePhases(phases: [ring], notes: notes, sentElementBytes: Double(w.elementBytes))
    }

    private func sentHeads(_ c: DecodeContext) -> Int { c.options.ringSendsExpandedKV ? c.workload.heads : c.workload.kvHeads }

    /// Two K/V buffers as sent (the chunk computed on and the one arriving), q and output.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim)
        let buffer = 2 * b * Double(c.tokens.max() ?? 0) * Double(sentHeads(c) * w.headDim)
        return (2 * buffer + 2 * b * d, (2 * buffer + 2 * b * d) * Double(w.elementBytes))
    }

    /// V_ring = 2 b t d p.
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        let P = Double(p)
        return 2 * Double(w.batch) * (Double(w.sequenceLength) / P) * Double(w.modelDim) * P
    }

    /// 4 b t d + 2 b d.
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        let b = Double(w.batch), d = Double(w.modelDim), t = Double(w.sequenceLength) / Double(p)
        return 4 * b * t * d + 2 * b * d
    }
}
