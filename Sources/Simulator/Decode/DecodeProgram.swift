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
    /// The strategy's backward step, or `SimulatorError.unsupported` naming why it has none. No default on purpose:
    /// every strategy states its backward (or its refusal) in its own file.
    func backward() throws -> DecodeBackwardProgram
}

extension DecodeProgram {
    func target(_ cluster: Cluster) throws -> Cluster { cluster }
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? { nil }
    func paperMemory(_ w: DecodeWorkload, ranks p: Int) -> Double? { nil }
}

/// The backward of one decode step for a strategy (`DecodeProgram.backward`), run after (or instead of) its forward:
/// every rank starts with the forward's global log-sum-exp, the output O and the output's gradient dO.
protocol DecodeBackwardProgram {
    /// The phases (run one after another on each rank) and notes of the backward alone.
    func build(_ context: DecodeContext) throws -> DecodePhases
    /// Peak attention buffers per device during the backward (the forward's accounting plus the gradients: dK and
    /// dV, dO, dQ, D): elements, and bytes in the model dtype and partial precision as `DecodeProgram.peakMemory`.
    func peakMemory(_ context: DecodeContext) -> (elements: Double, bytes: Double)
    /// A paper-style closed form of the backward's communication volume per device (elements), nil where there is
    /// none (default).
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double?
}

extension DecodeBackwardProgram {
    func paperVolume(_ w: DecodeWorkload, ranks p: Int) -> Double? { nil }
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

    /// The same local kernel on every rank, one compute each.
    func everyRank(_ time: SimTime, label: String) -> RankProgram {
        ListProgram(singleLane: Array(repeating: [.compute(time, label: label)], count: ranks))
    }

    /// The backward kernel over each rank's tokens, one compute per rank.
    var localFlashBackward: RankProgram {
        ListProgram(
            singleLane: tokens.map { [.compute(roofline.flashBackward(tokens: $0, workload), label: "flash-backward")] }
        )
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
    /// Elements sent per device when the communication is a closed-form model rather than simulated messages, or
    /// its messages mix element sizes (nil: measured from the simulated bytes).
    var modelledElementsSentPerDevice: Double? = nil
}

extension SimulatorError {
    /// The one refusal of a strategy without a backward model (`DecodeProgram.backward`).
    static func noBackward(_ strategy: String, _ why: String) -> SimulatorError {
        .unsupported(
            "no backward model for '\(strategy)' (\(why)); backward and training steps are modelled for tree[:ALG], ring, ring-sequential and single"
        )
    }
}
