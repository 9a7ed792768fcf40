/// `gather` (reviewers' alternative, Star Attention style): every rank computes its flash-decode partial and sends
/// it to rank 0, which receives all p-1 and merges the p partials in one kernel.
struct GatherDecode: DecodeProgram {
    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, p = c.ranks, roof = c.roofline
        let bytes = c.partialBytes
        return DecodePhases(
            phases: [
                ListProgram(
                    singleLane: (0..<p).map { r in
                        var ops: [RankOperation] = [c.flashDecode(rank: r)]
                        if r == 0 {
                            ops += (1..<max(p, 1)).map { .recv(from: $0, tag: 0) }
                            ops.append(.compute(roof.merge(partials: p, w), label: "merge"))
                        } else {
                            ops.append(.send(to: 0, bytes: bytes, tag: 0))
                        }
                        return ops
                    })
            ], sentElementBytes: Double(w.partialElementBytes))
    }

    /// Stored K/V, q and output, plus the p partials gathered on rank 0.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), dOut = Double(w.outputDim)
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        let gathered = Double(c.ranks) * w.partialElements
        return (
            kv + b * (d + dOut) + gathered,
            (kv + b * d) * Double(w.elementBytes) + (b * dOut + gathered) * Double(w.partialElementBytes)
        )
    }

    func backward() throws -> DecodeBackwardProgram {
        throw SimulatorError.noBackward(
            "gather", "its output is on rank 0 only: a backward would first scatter dO, LSE and D back out")
    }
}
