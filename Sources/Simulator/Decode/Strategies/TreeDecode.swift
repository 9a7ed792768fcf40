/// `tree[:ALG]`, the paper's Algorithm 3: local flash-decode partial; all-reduce of the max (b n_h partial elements,
/// fp32 or f64: `DecodeWorkload.partialElementBytes`); rescale;
/// all-reduce of the numerator (b d); all-reduce of the denominator (b n_h); divide. The all-reduces use any
/// collective algorithm, or NCCL's closed-form model (`nccl*`, modelled communication, no network events).
/// Backward (`TreeBackward`): D = rowsum(dO o O), all-reduce of D (b n_h), local flash-backward, all-reduce of dQ (b d).
struct TreeDecode: DecodeProgram {
    var collective: CollectiveAlgorithm

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, roof = c.roofline
        var allReduces = try TreeAllReduces(collective, c)
        var phases: [RankProgram] = [c.localFlashDecode]
        let sizes: [(String, Double)] = [
            ("allreduce max", Double(w.batch * w.heads)),
            ("allreduce numerator", Double(w.batch * w.outputDim)),
            ("allreduce denominator", Double(w.batch * w.heads)),
        ]
        for (i, (label, elements)) in sizes.enumerated() {
            phases += try allReduces.phases(label, elements: elements)
            if i == 0 {  // rescale numerator and denominator by exp(lse - m)
                phases.append(
                    c.everyRank(
                        roof.elementwise(w.partialElements, elementBytes: w.partialElementBytes), label: "rescale"))
            }
        }
        phases.append(
            c.everyRank(
                roof.elementwise(Double(w.batch * w.outputDim), elementBytes: w.partialElementBytes), label: "divide"))
        return allReduces.finish(phases, volume: Double(w.batch * w.outputDim) + 2 * Double(w.batch * w.heads))
    }

    /// Stored K/V and q in the model dtype; the numerator (b n_h d_v) and the two b n_h statistics as partials
    /// (fp32, f64).
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        return (
            kv + b * (d + dOut) + 2 * b * nh,
            (kv + b * d) * Double(w.elementBytes) + (b * dOut + 2 * b * nh) * Double(w.partialElementBytes)
        )
    }

    /// V_tree = 2(p-1)/p (b d + 2 b n_h) (the paper's, for d_v = d_h; nil otherwise).
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        guard w.isPlain else { return nil }
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), P = Double(p)
        return 2 * (P - 1) / P * (b * d + 2 * b * nh)
    }

    /// 2 b t d + 2 b d + 2 b n_h (the paper's, for plain attention; nil otherwise).
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        guard w.isPlain else { return nil }
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), t = Double(w.sequenceLength) / Double(p)
        return 2 * b * t * d + 2 * b * d + 2 * b * nh
    }

    func backward() throws -> DecodeBackwardProgram { TreeBackward(collective: collective) }
}

/// Tree Attention's backward, sequence parallel: every rank has the global LSE from the forward's all-reduces and
/// computes D = rowsum(dO o O); all-reduce (sum) of D (b n_h partial elements: needed when dO is sharded or produced
/// per rank; with dO and O replicated, as after Algorithm 3, D is local and this all-reduce could be skipped);
/// local flash-backward over the rank's keys (dK and dV stay on the rank); all-reduce (sum) of the ranks' dQ shares
/// (b d partial elements, the size of the forward's numerator). Same collective algorithm as the forward.
struct TreeBackward: DecodeBackwardProgram {
    var collective: CollectiveAlgorithm

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload
        var allReduces = try TreeAllReduces(collective, c)
        var phases: [RankProgram] = [
            c.everyRank(c.roofline.backwardPreprocess(w), label: "backward D = rowsum(dO o O)")
        ]
        phases += try allReduces.phases("allreduce D", elements: Double(w.batch * w.heads))
        phases.append(c.localFlashBackward)
        phases += try allReduces.phases("allreduce dQ", elements: Double(w.batch * w.modelDim))
        var result = allReduces.finish(phases, volume: Double(w.batch * w.modelDim) + Double(w.batch * w.heads))
        result.notes.append(
            "backward: the all-reduce of D (b n_h) is needed when dO is sharded or produced per rank; with dO and O replicated D is local"
        )
        return result
    }

    /// The forward's buffers (stored K/V, q, output, two b n_h statistics) plus dK and dV (the size of the local K/V)
    /// and dO in the model dtype, dQ (b d) and D (b n_h) in partial precision.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        // q, dO in the model dtype; output (b n_h d_v) and dQ (b d) in partial precision.
        return (
            2 * kv + 2 * b * (d + dOut) + 3 * b * nh,
            (2 * kv + b * (d + dOut)) * Double(w.elementBytes) + (b * (d + dOut) + 3 * b * nh)
                * Double(w.partialElementBytes)
        )
    }

    /// Two all-reduces, of D (b n_h) and of dQ (b d), counted as the paper counts V_tree: 2(p-1)/p (b d + b n_h).
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? {
        guard w.isPlain else { return nil }
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), P = Double(p)
        return 2 * (P - 1) / P * (b * d + b * nh)
    }
}

/// The all-reduces of a tree forward or backward: simulated phases of any collective algorithm, or NCCL's closed
/// form as modelled communication; collects the notes they call for.
private struct TreeAllReduces {
    let collective: CollectiveAlgorithm
    let context: DecodeContext
    var options: CollectiveOptions
    var notes: [String] = []
    /// Total NCCL-model time (zero for simulated collectives).
    var modelled = SimTime.zero
    private var first = true

    init(_ collective: CollectiveAlgorithm, _ c: DecodeContext) throws {
        self.collective = collective
        context = c
        options = c.options.collective
        options.callOverhead = c.options.collectiveCall
        if options.segments != nil && !Collective.pipelines(collective) {
            options.segments = nil
            notes.append("segments do not apply to '\(collective)' all-reduces (not pipelined)")
        }
    }

    /// The phases of one all-reduce of `elements` partial elements, labelled (NCCL model) `label`.
    mutating func phases(_ label: String, elements: Double) throws -> [RankProgram] {
        let c = context, w = c.workload, p = c.ranks
        defer { first = false }
        let allReduce = try Collective(
            .allreduce, algorithm: collective, bytes: elements * Double(w.partialElementBytes), options: options)
        if case .nccl(let a) = collective {
            let prediction = try NCCLModel.predict(
                .allreduce, bytes: allReduce.bytes, inputs: NCCLModel.Inputs(cluster: c.cluster), algorithm: a)
            let t = prediction.time + c.options.collectiveCall
            modelled += t
            if first {
                notes.append(
                    "collectives from the NCCL model (\(prediction.algorithm.rawValue)/\(prediction.proto.rawValue)); no network events"
                )
            }
            return [ListProgram(singleLane: Array(repeating: [.modelledCommunication(t, label: label)], count: p))]
        }
        if first, case .hierarchical = collective, c.cluster.serverCount == 1 {
            notes.append("one server: the hierarchical all-reduce is its ring reduce-scatter and all-gather only")
        }
        return try allReduce.phases(ranks: p, serverGroups: c.cluster.serverGroups)
    }

    /// The phases with the notes; with the NCCL model, elements sent per device are those of ring all-reduces of
    /// `volume` elements in all, 2(p-1)/p `volume`.
    func finish(_ phases: [RankProgram], volume: Double) -> DecodePhases {
        let w = context.workload, p = Double(context.ranks)
        var result = DecodePhases(phases: phases, notes: notes, sentElementBytes: Double(w.partialElementBytes))
        if modelled.picoseconds > 0 {
            result.modelledElementsSentPerDevice = 2 * (p - 1) / p * volume
            result.notes.append("elements sent per device assume a ring all-reduce inside NCCL")
        }
        return result
    }
}
