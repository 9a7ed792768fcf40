/// `single`: the whole sequence on the first GPU, no communication.
struct SingleGPUDecode: DecodeProgram {
    func target(_ cluster: Cluster) throws -> Cluster { try cluster.prefix(1) }

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload
        return DecodePhases(
            phases: [
                ListProgram(singleLane: [
                    [.compute(c.roofline.flashDecode(tokens: w.sequenceLength, w), label: "flash-decode")]
                ])
            ],
            sentElementBytes: Double(w.partialElementBytes))
    }

    /// All of K/V, q and output.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let kv = w.kvElements(tokens: w.sequenceLength), qo = Double(w.batch) * Double(w.modelDim + w.outputDim)
        return (kv + qo, (kv + qo) * Double(w.elementBytes))
    }

    func backward() throws -> DecodeBackwardProgram { SingleGPUBackward() }
}

/// The backward on one GPU: D = rowsum(dO o O), then flash-backward over all N keys; no communication.
struct SingleGPUBackward: DecodeBackwardProgram {
    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload
        return DecodePhases(
            phases: [
                ListProgram(singleLane: [
                    [
                        .compute(c.roofline.backwardPreprocess(w), label: "backward D = rowsum(dO o O)"),
                        .compute(c.roofline.flashBackward(tokens: w.sequenceLength, w), label: "flash-backward"),
                    ]
                ])
            ], sentElementBytes: Double(w.partialElementBytes))
    }

    /// All of K/V and dK/dV, q, output and dO in the model dtype; dQ (b d), LSE and D (b n_h each) in partial
    /// precision.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        let modelDtype = 2 * w.kvElements(tokens: w.sequenceLength) + b * (d + 2 * dOut), partial = b * d + 2 * b * nh
        return (modelDtype + partial, modelDtype * Double(w.elementBytes) + partial * Double(w.partialElementBytes))
    }
}
