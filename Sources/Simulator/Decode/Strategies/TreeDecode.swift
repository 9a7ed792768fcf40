/// `tree[:ALG]`, the paper's Algorithm 3: local flash-decode partial; all-reduce of the max (b n_h partial elements,
/// fp32 or f64: `DecodeWorkload.partialElementBytes`); rescale;
/// all-reduce of the numerator (b d); all-reduce of the denominator (b n_h); divide. The all-reduces use any
/// collective algorithm, or NCCL's closed-form model (`nccl*`, modelled communication, no network events).
struct TreeDecode: DecodeProgram {
    var collective: CollectiveAlgorithm

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, p = c.ranks, roof = c.roofline, options = c.options
        var phases: [RankProgram] = [c.localFlashDecode]
        var notes: [String] = []
        var modelled = SimTime.zero
        let sizes: [(String, Double)] = [("allreduce max", Double(w.batch * w.heads)),
                                         ("allreduce numerator", Double(w.batch * w.modelDim)),
                                         ("allreduce denominator", Double(w.batch * w.heads))]
        var collectiveOptions = options.collective
        collectiveOptions.callOverhead = options.collectiveCall
        if collectiveOptions.segments != nil && !Collective.pipelines(collective) {
            collectiveOptions.segments = nil
            notes.append("segments do not apply to '\(collective)' all-reduces (not pipelined)")
        }
        for (i, (label, elements)) in sizes.enumerated() {
            let allReduce = try Collective(.allreduce, algorithm: collective, bytes: elements * Double(w.partialElementBytes), options: collectiveOptions)
            if case .nccl(let a) = collective {
                let prediction = try NCCLModel.predict(.allreduce, bytes: allReduce.bytes, inputs: NCCLModel.Inputs(cluster: c.cluster), algorithm: a)
                let t = prediction.time + options.collectiveCall
                modelled += t
                phases.append(ListProgram(singleLane: Array(repeating: [.modelledCommunication(t, label: label)], count: p)))
                if i == 0 { notes.append("collectives from the NCCL model (\(prediction.algorithm.rawValue)/\(prediction.proto.rawValue)); no network events") }
            } else {
                phases.append(contentsOf: try allReduce.phases(ranks: p, serverGroups: c.cluster.serverGroups))
                if i == 0, case .hierarchical = collective, c.cluster.serverCount == 1 {
                    notes.append("one server: the hierarchical all-reduce is its ring reduce-scatter and all-gather only")
                }
            }
            if i == 0 {  // rescale numerator and denominator by exp(lse - m)
                phases.append(ListProgram(singleLane: Array(repeating: [.compute(roof.elementwise(w.partialElements, elementBytes: w.partialElementBytes), label: "rescale")], count: p)))
            }
        }
        phases.append(ListProgram(singleLane: Array(repeating: [.compute(roof.elementwise(Double(w.batch * w.modelDim), elementBytes: w.partialElementBytes), label: "divide")], count: p)))
        var result = DecodePhases(phases: phases, notes: notes, sentElementBytes: Double(w.partialElementBytes))
        if modelled.picoseconds > 0 {
            result.modelledElementsSentPerDevice = 2 * Double(p - 1) / Double(p) * (Double(w.batch * w.modelDim) + 2 * Double(w.batch * w.heads))
            result.notes.append("elements sent per device assume a ring all-reduce inside NCCL")
        }
        return result
    }

    /// Stored K/V, q and output in the model dtype; numerator and the two b n_h statistics as partials (fp32, f64).
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads)
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        return (kv + 2 * b * d + 2 * b * nh, (kv + b * d) * Double(w.elementBytes) + (b * d + 2 * b * nh) * Double(w.partialElementBytes))
    }

    /// V_tree = 2(p-1)/p (b d + 2 b n_h).
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), P = Double(p)
        return 2 * (P - 1) / P * (b * d + 2 * b * nh)
    }

    /// 2 b t d + 2 b d + 2 b n_h.
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), t = Double(w.sequenceLength) / Double(p)
        return 2 * b * t * d + 2 * b * d + 2 * b * nh
    }
}
