/// One prefill strategy as a program: the rank-program phases of one layer's attention, the visible (query, key)
/// pairs each rank computes, and its peak memory. Each strategy is one file in `Prefill/Strategies/`;
/// `PrefillStrategy.program` maps each case to its program (the one registration point).
protocol PrefillProgram {
    /// The phases (run one after another on each rank) and notes of one layer's attention.
    func build(_ context: PrefillContext) throws -> PrefillPhases
    /// Attention buffers on the busiest device in bytes (K/V, Q and output in the model dtype, running outputs and
    /// log-sum-exps in partial precision).
    func peakMemoryBytes(_ context: PrefillContext) -> Double
}

/// What a prefill program is built from: the workload (n = `sequenceLength` prompt tokens per sequence, every one a
/// query and a key), the options, the roofline for local kernels, the cluster and the mask.
struct PrefillContext: Sendable {
    let workload: DecodeWorkload
    let options: DecodeOptions
    let roofline: Roofline
    let cluster: Cluster
    let causal: Bool

    var ranks: Int { cluster.gpuCount }
    var n: Int { workload.sequenceLength }

    /// Tokens rank r holds under `placement`.
    func tokens(_ placement: PrefillPlacement, rank r: Int) -> Int {
        placement.tokens(rank: r, ranks: ranks, tokens: n)
    }

    /// One attention block (FlashAttention's forward over `queries` query rows per sequence against `keys` key rows,
    /// `pairs` of them visible): reads Q (b q d, model dtype), K and V (n_kv heads, model dtype), reads and writes
    /// the running output and log-sum-exp (b q (n_h d_v + n_h), partial precision); 2 b n_h pairs (d_h + d_v) FLOPs.
    /// A block with no visible pair is skipped (zero time).
    func block(queries: Int, keys: Int, pairs: Int) -> SimTime {
        guard pairs > 0 else { return .zero }
        let w = workload, b = Double(w.batch)
        let bytes =
            b * Double(queries) * Double(w.modelDim) * Double(w.elementBytes)
            + w.kvElements(tokens: keys) * Double(w.elementBytes)
            + 2 * b * Double(queries) * Double(w.outputDim + w.heads) * Double(w.partialElementBytes)
        let flops = 2 * b * Double(w.heads) * Double(pairs) * Double(w.headDim + w.valueDim)
        return roofline.time(bytes: bytes, flops: flops)
    }

    /// K and V bytes of `tokens` tokens (n_kv heads, model dtype).
    func kvBytes(tokens: Int) -> Double { workload.kvElements(tokens: tokens) * Double(workload.elementBytes) }

    /// Bytes of a partial result (output and log-sum-exp, partial precision) for `tokens` queries per sequence.
    func partialBytes(tokens: Int) -> Double {
        Double(workload.batch) * Double(tokens) * Double(workload.outputDim + workload.heads)
            * Double(workload.partialElementBytes)
    }
}

/// A prefill program's phases for one layer and what the report says about them.
struct PrefillPhases {
    var phases: [RankProgram]
    /// Visible (query, key) pairs each rank computes, per sequence.
    var pairs: [Int]
    var notes: [String] = []
}
