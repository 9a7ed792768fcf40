/// `pass-partials` (reviewers' alternative): each rank computes its flash-decode partial; partials (b d + b n_h
/// fp32, f64 for f64 workloads) then pass along the chain 0 -> 1 -> ... -> p-1, each rank merging what it receives with its own before
/// passing it on. The result is on rank p-1. Uncontended: T_local(t) + (p-1)(a + S b + T_merge(2)) when every rank
/// finishes its local kernel at the same time.
struct PassPartialsDecode: DecodeProgram {
    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, p = c.ranks, roof = c.roofline
        let bytes = c.partialBytes
        return DecodePhases(
            phases: [
                ListProgram(
                    singleLane: (0..<p).map { r in
                        var ops: [RankOperation] = [c.flashDecode(rank: r)]
                        if r > 0 {
                            ops += [.recv(from: r - 1, tag: 0), .compute(roof.merge(partials: 2, w), label: "merge")]
                        }
                        if r < p - 1 { ops.append(.send(to: r + 1, bytes: bytes, tag: 0)) }
                        return ops
                    })
            ], sentElementBytes: Double(w.partialElementBytes))
    }

    /// Stored K/V, q, output and statistics, plus the partial received.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        return (
            kv + b * (d + dOut) + 2 * b * nh + w.partialElements,
            (kv + b * d) * Double(w.elementBytes) + (b * dOut + 2 * b * nh + w.partialElements)
                * Double(w.partialElementBytes)
        )
    }

    func backward() throws -> DecodeBackwardProgram {
        throw SimulatorError.noBackward(
            "pass-partials",
            "its output ends on rank p-1 only: a backward would first pass dO, LSE and D back along the chain")
    }
}
