/// `single`: the whole sequence on the first GPU, no communication.
struct SingleGPUDecode: DecodeProgram {
    func target(_ cluster: Cluster) throws -> Cluster { try cluster.prefix(1) }

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload
        return DecodePhases(phases: [ListProgram(singleLane: [[.compute(c.roofline.flashDecode(tokens: w.sequenceLength, w), label: "flash-decode")]])],
                            sentElementBytes: Double(w.partialElementBytes))
    }

    /// All of K/V, q and output.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let kv = w.kvElements(tokens: w.sequenceLength), qo = 2 * Double(w.batch) * Double(w.modelDim)
        return (kv + qo, (kv + qo) * Double(w.elementBytes))
    }
}
