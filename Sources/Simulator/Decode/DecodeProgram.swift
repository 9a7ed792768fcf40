/// One decode strategy as a program: the rank-program phases of one decode step for a workload on a cluster, its
/// peak-memory accounting and, where the paper gives them, the paper's formulas. Each strategy is one file in
/// `Strategies/`; `DecodeStrategy.program` maps each case to its program (the one registration point).
protocol DecodeProgram {
    /// The GPUs the strategy runs on, given the model's cluster (default: all of them).
    func target(_ cluster: Cluster) throws -> Cluster
    /// The phases (run one after another on each rank) and notes for one decode step.
    func build(_ context: DecodeContext) throws -> DecodePhases
    /// Attention buffers on the busiest device (our accounting): elements, and bytes with K/V, q and output in the
    /// model dtype and partial statistics in partial precision (fp32; f64 for f64 workloads).
    func peakMemory(_ context: DecodeContext) -> (elements: Double, bytes: Double)
    /// The paper's communication volume per device (elements), nil where the paper has none (default).
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double?
    /// The paper's peak memory per device (elements), nil where the paper has none (default).
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double?
}

extension DecodeProgram {
    func target(_ cluster: Cluster) throws -> Cluster { cluster }
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? { nil }
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double? { nil }
}

/// What a decode program is built from: the workload and options, the roofline for local kernels, the cluster it
/// runs on (`DecodeProgram.target`) and each rank's token count.
struct DecodeContext {
    let workload: DecodeWorkload
    let options: DecodeOptions
    let roofline: Roofline
    let cluster: Cluster
    /// Tokens per rank (Reference's even split over the cluster's GPUs).
    let tokens: [Int]

    var ranks: Int { cluster.gpuCount }

    /// Flash-decode over rank r's tokens.
    func flashDecode(rank r: Int) -> RankOperation {
        .compute(roofline.flashDecode(tokens: tokens[r], workload), label: "flash-decode")
    }

    /// Flash-decode over each rank's tokens, one compute per rank.
    var localFlashDecode: RankProgram {
        ListProgram(singleLane: tokens.indices.map { [flashDecode(rank: $0)] })
    }

    /// Bytes of one partial (output and log-sum-exp, `partialElementBytes` each), as sent by pass-partials and gather.
    var partialBytes: Double { workload.partialElements * Double(workload.partialElementBytes) }
}

/// A decode program's phases for one step and what the report says about them.
struct DecodePhases {
    var phases: [RankProgram]
    var notes: [String] = []
    /// Bytes per element sent (to report elements sent per device): partial elements (fp32; f64 for f64 workloads) unless the strategy sends K/V.
    var sentElementBytes: Double
    /// Elements sent per device when the communication is a closed-form model rather than simulated messages
    /// (nil: measured from the simulated bytes).
    var modelledElementsSentPerDevice: Double? = nil
}
