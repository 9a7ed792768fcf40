import Simulator
import TreeCore

/// Context-parallel attention as Meta measured it on H100 clusters (Yang et al., "Context Parallelism for Scalable
/// Million-Token Inference", MLSys 2025, arXiv 2411.01783v3, Tables 5 and 8), against the simulator: every timed
/// piece of pass-KV and pass-Q ring attention (one ring step's SendRecv and attention in prefill; the decode kernel,
/// the query ring, the all-to-all and the whole pass-Q decode), predicted on `dgx-h100:N` with the paper's GPUs.
///
/// Setup (the paper's Section 4.1 and Appendix A): Llama 3 405B, TP8 in each 8-GPU host, so each GPU holds one KV
/// head and 16 query heads of dimension 128 (bf16); CP over N hosts forms one ring per KV head, one GPU per host, all
/// 8 rings at once over 400 Gb/s RDMA per GPU (rail-optimised, as `dgx-h100:N`); the H100s are power-limited to
/// 500 W with 96 GB of HBM2e at 2.4 TB/s and 800 TF/s BF16 (`gtt`).
///
/// The split, fixed by role before any prediction was computed: one calibration row per parameter, the simplest
/// configuration of its kind (the first decode table's TP8 and CP2 columns, the 2.5%-miss prefill rows of pass-KV);
/// every other row is held out and predicted without refitting. Parameters (`Parameters`): the decode kernel's fixed
/// cost and HBM efficiency (two decode kernel times), the per-message software cost (one decode SendRecv of a 4 kB
/// query), the all-to-all call's fixed cost (one decode All2All), the fraction of the NIC a SendRecv reaches (one
/// prefill pass-KV step) and flash attention's fraction of the BF16 peak (one prefill ring step's attention).
public enum PublishedAttentionValidation {
    /// What a measurement timed.
    public enum Quantity: String, Sendable, CaseIterable {
        /// One flash-decoding kernel over the rank's share of the context (Table 8, "Individual attention op").
        case decodeAttention = "decode attention op"
        /// The query ring of pass-Q decode, all N-1 steps (Table 8, "SendRecv").
        case decodeSendRecv = "decode SendRecv"
        /// The all-to-all returning the partial outputs (Table 8, "All2All").
        case decodeAllToAll = "decode All2All"
        /// The whole pass-Q decode attention (Table 8, "Whole pass-Q").
        case decodePassQ = "whole pass-Q decode"
        /// One ring step's partial attention in prefill (Table 5, "ATTN").
        case prefillAttention = "prefill ATTN per step"
        /// One ring step's SendRecv in prefill (Table 5, "SendRecv").
        case prefillSendRecv = "prefill SendRecv per step"
        /// Pass-Q prefill's all-to-all of the partial outputs (Table 5, "All2All").
        case prefillAllToAll = "prefill All2All"
    }

    /// What travels the ring.
    public enum Variant: String, Sendable {
        /// K and V of the rank's tokens.
        case passKV = "pass-KV"
        /// The rank's queries (and, at the end, the partial outputs by all-to-all).
        case passQ = "pass-Q"
    }

    /// One published number.
    public struct Measurement: Sendable, Equatable {
        /// Where it is printed.
        public var source: String
        /// CP ranks (hosts); 1 is TP8 alone.
        public var cp: Int
        /// Tokens in context, P + T.
        public var context: Int
        /// New tokens T of a (partial) prefill; 0 for decode.
        public var newTokens: Int
        /// Sequences in the batch.
        public var batch: Int
        /// What travels the ring.
        public var variant: Variant
        /// What was timed.
        public var quantity: Quantity
        /// The published time, seconds.
        public var measured: Double
        /// Calibration or held out.
        public var split: PublishedValidation.Split
    }

    /// The model's parameters, each set by one calibration row (`fit`).
    public struct Parameters: Sendable, Equatable {
        /// Fixed cost of one decode kernel (launch and the split-K reduction's small tail).
        public var kernelCost: SimTime
        /// Fraction of the 2.4 TB/s HBM bandwidth the decode kernel reaches.
        public var memoryEfficiency: Double
        /// Software cost of one point-to-point message (NCCL send/recv call, synchronisation), before it enters the
        /// network.
        public var messageOverhead: SimTime
        /// Fixed cost of one all-to-all call on every rank, besides its messages.
        public var allToAllCall: SimTime
        /// Fraction of every link's bandwidth that transfers reach (the NIC's 50 GB/s, for these rings).
        public var linkEfficiency: Double
        /// Fraction of the 800 TF/s BF16 peak flash attention reaches in prefill.
        public var attentionEfficiency: Double
    }

    /// A measurement with its prediction.
    public struct Row: Sendable {
        /// The published number.
        public var measurement: Measurement
        /// The simulator's time, seconds.
        public var predicted: Double
        /// predicted / measured - 1.
        public var error: Double { predicted / measurement.measured - 1 }
    }

    /// The fitted parameters and every row.
    public struct Result: Sendable {
        /// What the calibration rows set.
        public var parameters: Parameters
        /// Every measurement, predicted.
        public var rows: [Row]
    }

    /// The paper's GPUs (Appendix A): H100 power-limited to 500 W, 96 GB HBM2e at 2.4 TB/s, 800 TF/s dense BF16.
    public static let gtt = try! GPUSpec(
        name: "H100-96GB-500W", memoryBandwidth: 2.4e12, bf16FlopsPerSecond: 800e12, memoryBytes: 96e9)
    /// Query heads per GPU (128 over TP8), KV heads per GPU (8 over TP8), head dimension, bytes per bf16 element.
    static let (queryHeads, kvHeads, headDim, element) = (16, 1, 128, 2)
    /// Bytes of one partial output row per head: O in bf16 and the log-sum-exp in fp32.
    static let partialBytesPerHead = Double(headDim * element + 4)

    static let table5 = "Yang et al. 2025 Table 5 (CP4; P + T = 128000)"
    static let table8a = "Yang et al. 2025 Table 8 (128K; batch 1)"
    static let table8b = "Yang et al. 2025 Table 8 (32K; batch 4)"

    /// Every number of Tables 5 and 8, as printed (microseconds), with its split.
    public static let all: [Measurement] = {
        var rows: [Measurement] = []
        func add(
            _ source: String, cp: Int, context: Int, new: Int = 0, batch: Int = 1, _ variant: Variant,
            _ quantity: Quantity, _ us: Double, _ split: PublishedValidation.Split = .heldOut
        ) {
            rows.append(
                Measurement(
                    source: source, cp: cp, context: context, newTokens: new, batch: batch, variant: variant,
                    quantity: quantity, measured: us * 1e-6, split: split))
        }
        // Table 5: one pass-KV / pass-Q ring step at 2.5% (T = 3200) and 10% (T = 12800) KV-cache miss.
        add(table5, cp: 4, context: 128_000, new: 3200, .passKV, .prefillSendRecv, 627, .calibration)
        add(table5, cp: 4, context: 128_000, new: 3200, .passKV, .prefillAttention, 414, .calibration)
        add(table5, cp: 4, context: 128_000, new: 3200, .passQ, .prefillSendRecv, 166)
        add(table5, cp: 4, context: 128_000, new: 3200, .passQ, .prefillAllToAll, 424)
        add(table5, cp: 4, context: 128_000, new: 12800, .passKV, .prefillSendRecv, 631)
        add(table5, cp: 4, context: 128_000, new: 12800, .passKV, .prefillAttention, 1608)
        add(table5, cp: 4, context: 128_000, new: 12800, .passQ, .prefillSendRecv, 544)
        add(table5, cp: 4, context: 128_000, new: 12800, .passQ, .prefillAllToAll, 1023)
        // Table 8: pass-Q decode at 128K (batch 1) and 32K (batch 4) on TP8, CP2+TP8 and CP4+TP8.
        for (source, context, batch, columns) in [
            (
                table8a, 131_072, 1,
                [(1, 38.9, 0.0, 0.0, 38.9), (2, 22.0, 32.3, 81.1, 157.7), (4, 14.7, 105.7, 79.9, 238.6)]
            ),
            (
                table8b, 32_768, 4,
                [(1, 60.1, 0.0, 0.0, 60.1), (2, 13.9, 33.3, 66.8, 136.6), (4, 9.6, 104.9, 72.2, 180.6)]
            ),
        ] {
            for (cp, op, sendRecv, allToAll, whole) in columns {
                let first = source == table8a
                add(
                    source, cp: cp, context: context, batch: batch, .passQ, .decodeAttention, op,
                    first && cp <= 2 ? .calibration : .heldOut)
                guard cp > 1 else { continue }
                add(
                    source, cp: cp, context: context, batch: batch, .passQ, .decodeSendRecv, sendRecv,
                    first && cp == 2 ? .calibration : .heldOut)
                add(
                    source, cp: cp, context: context, batch: batch, .passQ, .decodeAllToAll, allToAll,
                    first && cp == 2 ? .calibration : .heldOut)
                add(source, cp: cp, context: context, batch: batch, .passQ, .decodePassQ, whole)
            }
        }
        return rows
    }()

    /// Fits the parameters to the calibration rows and predicts every row.
    public static func run() throws -> Result {
        let p = try fit()
        return Result(parameters: p, rows: try all.map { Row(measurement: $0, predicted: try predict($0, p)) })
    }

    /// Sets each parameter from its calibration row: the kernel's cost and HBM efficiency from the two decode kernel
    /// times (a line through them), flash attention's efficiency from its step time, then the message cost, the link
    /// efficiency (alternately, as each barely moves the other's row) and the all-to-all call by bisection on the
    /// simulator's own prediction.
    public static func fit(_ rows: [Measurement] = all) throws -> Parameters {
        func row(_ q: Quantity, _ variant: Variant = .passQ, cp: Int? = nil) throws -> Measurement {
            guard
                let m = rows.first(where: {
                    $0.split == .calibration && $0.quantity == q && $0.variant == variant && (cp == nil || $0.cp == cp)
                })
            else { throw StudyError.invalidArgument("no calibration row for \(q.rawValue)") }
            return m
        }
        var p = Parameters(
            kernelCost: .zero, memoryEfficiency: 1, messageOverhead: .zero, allToAllCall: .zero, linkEfficiency: 1,
            attentionEfficiency: 1)
        // Decode kernel: t = c + m / eta, with m the kernel's time at full bandwidth and no fixed cost.
        let (a, b) = (try row(.decodeAttention, cp: 1), try row(.decodeAttention, cp: 2))
        let (ma, mb) = (try predict(a, p), try predict(b, p))
        p.memoryEfficiency = (ma - mb) / (a.measured - b.measured)
        p.kernelCost = .seconds(a.measured - ma / p.memoryEfficiency)
        guard p.memoryEfficiency > 0, p.memoryEfficiency <= 1, p.kernelCost.picoseconds >= 0 else {
            throw StudyError.invalidArgument("the decode kernel rows give no efficiency in (0, 1] and cost >= 0")
        }
        let attention = try row(.prefillAttention, .passKV)
        p.attentionEfficiency = try predict(attention, p) / attention.measured
        let (message, link, call) = (
            try row(.decodeSendRecv), try row(.prefillSendRecv, .passKV), try row(.decodeAllToAll)
        )
        for _ in 0..<3 {
            p.messageOverhead = .seconds(
                try bisect(0, message.measured, target: message.measured) {
                    var q = p
                    q.messageOverhead = .seconds($0)
                    return try predict(message, q)
                })
            p.linkEfficiency = try bisect(1e-3, 1, target: link.measured) {
                var q = p
                q.linkEfficiency = $0
                return try predict(link, q)
            }
        }
        p.allToAllCall = .seconds(max(0, call.measured - (try predict(call, p))))
        return p
    }

    /// x in [lo, hi] where the monotone f(x) = target (60 halvings).
    static func bisect(_ lo: Double, _ hi: Double, target: Double, _ f: (Double) throws -> Double) throws -> Double {
        var (lo, hi) = (lo, hi)
        let rising = try f(hi) > f(lo)
        for _ in 0..<60 {
            let mid = (lo + hi) / 2
            if (try f(mid) < target) == rising { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// The simulator's time for `m` with parameters `p`, seconds.
    public static func predict(_ m: Measurement, _ p: Parameters) throws -> Double {
        let n = m.cp, shard = m.context / m.cp
        let roofline = try Roofline(
            gpu: gtt, memoryEfficiency: p.memoryEfficiency, computeEfficiency: p.attentionEfficiency,
            kernelLaunch: p.kernelCost)
        let kernel = roofline.flashDecode(
            tokens: shard,
            try DecodeWorkload(
                sequenceLength: shard, batch: m.batch, heads: queryHeads, kvHeads: kvHeads, headDim: headDim))
        let query = Double(m.batch * queryHeads * headDim * element)
        let partials = Double(m.batch * queryHeads) * partialBytesPerHead
        let newPerRank = Double(m.newTokens / n)
        switch m.quantity {
        case .decodeAttention:
            return kernel.seconds
        case .prefillAttention:
            // Every (new query, key) pair of the step visible: 4 q k d FLOPs per head; K and V of the step read once.
            let keys = Double(shard)
            let flops = 4 * newPerRank * keys * Double(headDim * queryHeads)
            let bytes =
                2 * keys * Double(headDim * kvHeads * element) + newPerRank * Double(queryHeads * headDim * element)
            return try Roofline(gpu: gtt, computeEfficiency: p.attentionEfficiency).time(bytes: bytes, flops: flops)
                .seconds
        case .decodeSendRecv:
            return try simulate(ranks: n, p, ring: [SimTime](repeating: .zero, count: n - 1), chunk: query)
        case .prefillSendRecv:
            let chunk =
                m.variant == .passKV
                ? 2 * Double(shard * headDim * kvHeads * element) : newPerRank * Double(queryHeads * headDim * element)
            return try simulate(ranks: n, p, ring: [.zero], chunk: chunk)
        case .decodeAllToAll:
            return try simulate(ranks: n, p, ring: [], chunk: 0, returned: partials)
        case .prefillAllToAll:
            return try simulate(
                ranks: n, p, ring: [], chunk: 0, returned: newPerRank * Double(queryHeads) * partialBytesPerHead)
        case .decodePassQ:
            guard n > 1 else { return kernel.seconds }
            return try simulate(
                ranks: n, p, first: kernel, ring: [SimTime](repeating: kernel, count: n - 1), chunk: query,
                returned: partials)
        }
    }

    /// Simulates the 8 CP rings of `dgx-h100:ranks` (GPU g of every host in ring g) at once: `first` computed, then
    /// one ring step per entry of `ring` (send `chunk` bytes to the next host, receive from the previous, then compute
    /// the entry's time), then, when `returned` is given, an all-to-all of `returned` bytes per pair after the call's
    /// fixed cost. Links scaled by the link efficiency; every message pays the message overhead. Seconds.
    static func simulate(
        ranks n: Int, _ p: Parameters, first: SimTime = .zero, ring: [SimTime], chunk: Double, returned: Double? = nil
    ) throws -> Double {
        var cluster = try ClusterPreset.parse("dgx-h100:\(n)").build()
        cluster.gpu = gtt
        cluster = try Calibration(name: "attention", linkEfficiency: p.linkEfficiency).apply(to: cluster)
        let perHost = cluster.gpuCount / n
        let groups = (0..<perHost).map { g in (0..<n).map { $0 * perHost + g } }
        var phases: [RankProgram] = [
            try GroupedProgram(ranks: cluster.gpuCount, groups: groups) { size in
                ListProgram(
                    singleLane: (0..<size).map { r in
                        var ops: [RankOperation] = [.compute(first, label: "attention")]
                        for (s, t) in ring.enumerated() {
                            ops += [
                                .send(to: (r + 1) % size, bytes: chunk, tag: Int64(s)),
                                .recv(from: (r + size - 1) % size, tag: Int64(s)), .compute(t, label: "attention"),
                            ]
                        }
                        return ops + [.waitSends]
                    })
            }
        ]
        if let returned {
            phases.append(
                ListProgram(
                    singleLane: [[RankOperation]](
                        repeating: [.overhead(p.allToAllCall, label: "all-to-all call")], count: cluster.gpuCount)))
            phases.append(
                try GroupedProgram(ranks: cluster.gpuCount, groups: groups) { size in
                    try AllToAllProgram(ranks: size) { _, _ in returned }
                })
        }
        return try Execution(messageOverhead: p.messageOverhead).run(phases, on: cluster).makespan.seconds
    }
}
