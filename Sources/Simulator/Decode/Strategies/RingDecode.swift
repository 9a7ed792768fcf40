/// `ring` / `ring-sequential` (Ring Attention): K/V chunks travel around the ring (`KVRingProgram`), each rank
/// running flash-decode against every chunk. Overlapped: p-1 hops, T_local + (p-1) max(T_local, a + S b);
/// sequential (the JAX baseline): p hops, p (T_local + a + S b). K/V are sent expanded to n_h heads unless
/// `DecodeOptions.ringSendsExpandedKV` is off. Backward (`RingBackward`, `KVGradientRingProgram`): the K/V ring again,
/// with the dK/dV accumulators travelling along so that each ends at its owner (`ring`, `ring-sequential`; not
/// `ring-sendrecv`).
struct RingDecode: DecodeProgram {
    var overlap: Bool
    /// Sequential only: the chunk's p-th hop home (JAX's ppermute loop) or not (MPI_Sendrecv, p-1 hops).
    var chunkComesHome = true
    /// Messages per hop: 1 (K and V together), or 2 (K then V, as `treeattn-mpi`'s two MPI_Sendrecv calls).
    var messagesPerChunk = 1

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload
        let heads = sentHeads(c)
        let chunkBytes = c.tokens.map { w.kvElements(tokens: $0, heads: heads) * Double(w.elementBytes) }
        let times = c.tokens.map { c.roofline.flashDecode(tokens: $0, w) }
        var notes: [String] = []
        if c.options.ringSendsExpandedKV && w.groupSize > 1 {
            notes.append("K/V sent expanded to \(w.heads) heads (GQA repeat factor \(w.groupSize))")
        }
        let ring = try KVRingProgram(
            ranks: c.ranks, overlap: overlap, messagesPerChunk: messagesPerChunk, chunkBytes: chunkBytes,
            blocks: .perChunk(times: times, label: "flash-decode"), chunkComesHome: chunkComesHome)
        return DecodePhases(phases: [ring], notes: notes, sentElementBytes: Double(w.elementBytes))
    }

    fileprivate func sentHeads(_ c: DecodeContext) -> Int {
        c.options.ringSendsExpandedKV ? c.workload.heads : c.workload.kvHeads
    }

    /// Two K/V buffers as sent (the chunk computed on and the one arriving), q and output.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), dOut = Double(w.outputDim)
        let buffer = w.kvElements(tokens: c.tokens.max() ?? 0, heads: sentHeads(c))
        return (2 * buffer + b * (d + dOut), (2 * buffer + b * (d + dOut)) * Double(w.elementBytes))
    }

    /// V_ring = 2 b t d p (the paper's, for plain attention; nil otherwise).
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        guard w.isPlain else { return nil }
        let P = Double(p)
        return 2 * Double(w.batch) * (Double(w.sequenceLength) / P) * Double(w.modelDim) * P
    }

    /// 4 b t d + 2 b d.
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        guard w.isPlain else { return nil }
        let b = Double(w.batch), d = Double(w.modelDim), t = Double(w.sequenceLength) / Double(p)
        return 4 * b * t * d + 2 * b * d
    }

    func backward() throws -> DecodeBackwardProgram {
        guard overlap || chunkComesHome else {
            throw SimulatorError.noBackward("ring-sendrecv", "treeattn-mpi's forward ring; use ring or ring-sequential")
        }
        return RingBackward(forward: self)
    }
}

/// Ring Attention's backward (`KVGradientRingProgram`): D = rowsum(dO o O) locally (O and dO are on every rank after
/// the forward ring), then the K/V chunks travel around the ring again with the dK/dV accumulators (as sent: the
/// K/V's heads and dtype), overlapped (p-1 hops each, the accumulator starting one rank after the owner and making
/// the last hop home alone) or sequential (p hops each, together). Either way a device sends twice the forward's
/// K/V bytes.
struct RingBackward: DecodeBackwardProgram {
    var forward: RingDecode

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, roof = c.roofline
        let heads = forward.sentHeads(c)
        let chunkElements = c.tokens.map { w.kvElements(tokens: $0, heads: heads) }
        let chunkBytes = chunkElements.map { $0 * Double(w.elementBytes) }
        let ring = try KVGradientRingProgram(
            ranks: c.ranks, overlap: forward.overlap, messagesPerChunk: forward.messagesPerChunk,
            chunkBytes: chunkBytes,
            gradientBytes: chunkBytes, blockTimes: c.tokens.map { roof.flashBackward(tokens: $0, w) },
            accumulateTimes: chunkElements.map { roof.accumulate($0, elementBytes: w.elementBytes) })
        var notes = [
            "backward: dK/dV accumulators travel with the K/V's heads in the model dtype (\(w.dtype))"
                + (w.elementBytes < 4 ? "; fp32 accumulators would send \(4 / w.elementBytes)x their bytes" : "")
        ]
        if forward.overlap {
            notes.append(
                "backward: each dK/dV accumulator starts one rank after its owner and makes p-1 hops, the last one home"
            )
        }
        return DecodePhases(
            phases: [c.everyRank(roof.backwardPreprocess(w), label: "backward D = rowsum(dO o O)"), ring],
            notes: notes, sentElementBytes: Double(w.elementBytes))
    }

    /// The forward's buffers (two K/V buffers as sent, q, output) plus the dK/dV buffers as sent (overlapped three:
    /// the owner's own block kept until its accumulator comes home, the accumulator sent on, the one arriving;
    /// sequential two), dO in the model dtype, and dQ (b d), LSE and D (b n_h each) in partial precision.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        let buffer = w.kvElements(tokens: c.tokens.max() ?? 0, heads: forward.sentHeads(c))
        // q (b d), output and dO (b n_h d_v each) in the model dtype.
        let modelDtype = (forward.overlap ? 5 : 4) * buffer + b * (d + 2 * dOut), partial = b * d + 2 * b * nh
        return (modelDtype + partial, modelDtype * Double(w.elementBytes) + partial * Double(w.partialElementBytes))
    }

    /// K/V and dK/dV each as the paper counts V_ring: 2 V_ring = 4 b t d p.
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        forward.paperVolume(w, ranks: p).map { 2 * $0 }
    }
}
