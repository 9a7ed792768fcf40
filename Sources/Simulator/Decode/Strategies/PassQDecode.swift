/// `pass-q` (pass-Q ring decode, Yang et al. 2024, "Context Parallelism for Scalable Million-Token Inference"): the
/// batch's query rows are split over the ranks (the even split; ranks beyond the batch own none) and every sequence's
/// K/V over all of them. The query chunks travel the ring (`KVRingProgram` carrying Q, overlapped, p-1 hops); rank r
/// runs flash-decode for each visiting chunk against its own tokens of those sequences, keeping one partial per
/// origin; an all-to-all (`AllToAllProgram`) returns each partial to its queries' owner, which merges its p partials.
/// Closed form on an uncontended network with b/p queries per rank: T + (p-1) max(T, a + S_Q b_w), then the
/// all-to-all's p-1 partials, then one merge (T flash-decode of b/p rows over N/p tokens, S_Q = (b/p) d e).
struct PassQDecode: DecodeProgram {
    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, p = c.ranks, roof = c.roofline
        let rows = (0..<p).map { w.batch / p + ($0 < w.batch % p ? 1 : 0) }
        let owning: @Sendable (Int) -> DecodeWorkload = { rows in
            var owned = w
            owned.batch = rows
            return owned
        }
        let tokens = c.tokens
        let ring = try KVRingProgram(
            ranks: p, overlap: true, chunkBytes: rows.map { Double($0 * w.modelDim * w.elementBytes) },
            blocks: .pairwise(label: "flash-decode") { r, o in
                rows[o] == 0 ? .zero : roof.flashDecode(tokens: tokens[r], owning(rows[o]))
            })
        let partials = rows.map { owning($0).partialElements }
        let returned = try AllToAllProgram(ranks: p) { _, owner in partials[owner] * Double(w.partialElementBytes) }
        let merge = ListProgram(
            singleLane: rows.map {
                [.compute($0 == 0 ? .zero : roof.merge(partials: p, owning($0)), label: "merge partials")]
            })
        let P = Double(p)
        let sent = (P - 1) / P * (Double(w.batch * w.modelDim) + partials.reduce(0, +))
        var notes = ["queries travel the ring; the partials return by all-to-all in partial precision"]
        if w.batch < p { notes.append("batch \(w.batch) < \(p) ranks: \(p - w.batch) ranks own no query") }
        return DecodePhases(
            phases: [ring, returned, merge], notes: notes, sentElementBytes: Double(w.elementBytes),
            modelledElementsSentPerDevice: sent)
    }

    /// Stored K/V, two query chunks (the one computed on and the one arriving), the output, and one partial per
    /// origin (partial precision).
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload, p = Double(c.ranks)
        let rows = Double((w.batch + c.ranks - 1) / c.ranks)
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        let model = kv + rows * Double(2 * w.modelDim + w.outputDim)
        let partial = p * rows * Double(w.outputDim + w.heads)
        return (model + partial, model * Double(w.elementBytes) + partial * Double(w.partialElementBytes))
    }

    func backward() throws -> DecodeBackwardProgram {
        throw SimulatorError.noBackward("pass-q", "an inference strategy: its partials end on the queries' owners")
    }
}
