import Foundation
import Reference
import Simulator

/// `treeattn explain` as data: one tiny decode example walked from the scores to the tree merge (and, with
/// `backward`, through the gradients), then what the same step costs on a cluster. `init(_:)` computes every number
/// with the libraries; `text` prints it for a learner and `json()` hands it to other tools (`explain --json`).
public struct Walkthrough: Codable, Sendable {
    /// The version of the JSON layout.
    public static let schemaVersion = 2

    /// What the learner chose.
    public struct Settings: Codable, Sendable {
        /// Keys in the example (1...64).
        public var tokens = 8
        /// Shards the keys are split over (1...16), the leaves of the tree.
        public var shards = 4
        /// Head dimension d of the example's query, keys and values (1...16).
        public var headDim = 4
        /// Seed of the example's random query, keys and values (and, plus one, of the backward's dO).
        public var seed: UInt64 = 7
        /// The tree shape: binary, kary:K, two-level:G or flat.
        public var tree = "binary"
        /// The cluster of the cost estimate (a preset or a file).
        public var cluster = "dgx-h100:1"
        /// Sequence length (tokens of K/V) of the cost estimate's decode workload.
        public var seqLen = 640_000
        /// Attention heads of the cost estimate's model.
        public var modelHeads = 16
        /// Head dimension of the cost estimate's model.
        public var modelHeadDim = 128
        /// Whether the backward is walked through too.
        public var backward = false
        /// A sink logit to walk through (step 6b, `explain --sinks`); nil: none.
        public var sink: Double?
        /// Whether the query is causal: it sits at `queryPosition` and sees keys 0...queryPosition only (the keys after
        /// it are masked, as in prefill; a decode query sits at the last position and sees every key).
        public var causal = false
        /// The causal query's position (0..<tokens); nil: the middle, (tokens - 1) / 2. Ignored unless `causal`.
        public var queryPosition: Int?
        /// Keys per block of FlashAttention's loop inside each shard (1...64); 1 shows the online softmax key by key.
        public var blockSize = 1
        /// The device that owns the query in Ring Attention's order (0..<shards): it visits its own shard, then
        /// owner-1, owner-2, ... (mod p).
        public var ringOwner = 0
        /// The coordinate c of zeta along which the energy is drawn, F(t e_c) (0..<headDim).
        public var energyComponent = 0
        /// Typed values instead of the seeded ones; they set `tokens` and `headDim` (`init` checks that they agree).
        public var values: Values?

        /// The keys the query sees: all of them, or 0...queryPosition when causal.
        public var visibleKeys: Int { causal ? (queryPosition ?? (tokens - 1) / 2) + 1 : tokens }

        /// The attention options of the example: a causal query's later keys are past its cache length.
        public var options: AttentionOptions {
            var o = AttentionOptions()
            if causal { o.cacheSeqlens = [visibleKeys] }
            return o
        }

        /// The defaults (8 keys, 4 shards, head dim 4, seed 7, a binary tree, 16 x 128 at 640k tokens on one DGX).
        public init() {}

        /// Refuses sizes that would not make a tiny, visible example.
        public func validate() throws {
            guard (1...64).contains(tokens) else {
                throw ReferenceError.invalidOption("--tokens must be in 1...64 (a tiny, visible example)")
            }
            guard (1...16).contains(shards) else { throw ReferenceError.invalidOption("--shards must be in 1...16") }
            guard (1...16).contains(headDim) else { throw ReferenceError.invalidOption("--head-dim must be in 1...16") }
            guard modelHeads > 0, modelHeadDim > 0 else {
                throw ReferenceError.invalidOption("--model needs HEADSxDIM, e.g. 16x128")
            }
            _ = try ReductionPlan.parseShape(tree)
            if let sink, !sink.isFinite { throw ReferenceError.invalidOption("--sink-logit must be finite") }
            if let queryPosition, !(0..<tokens).contains(queryPosition) {
                throw ReferenceError.invalidOption("--query-position must be in 0..<\(tokens) (the keys)")
            }
            guard (1...64).contains(blockSize) else {
                throw ReferenceError.invalidOption("--block-size must be in 1...64")
            }
            guard (0..<shards).contains(ringOwner) else {
                throw ReferenceError.invalidOption("--ring-owner must be in 0..<\(shards) (a shard)")
            }
            if let values {
                try values.validate()
                guard values.k.count == tokens, values.q.count == headDim else {
                    throw ReferenceError.invalidOption(
                        "--values hold \(values.k.count) keys of head dim \(values.q.count), but the settings say \(tokens) x \(headDim)"
                    )
                }
            }
            guard (0..<headDim).contains(energyComponent) else {
                throw ReferenceError.invalidOption(
                    "--energy-component must be in 0..<\(headDim) (a coordinate of zeta)")
            }
        }
    }

    /// One shard's partial: its keys, running max m_i, sum l_i, lse_i and output o_i (an empty shard has m_i and
    /// lse_i = -inf, l_i = 0).
    public struct Shard: Codable, Sendable {
        /// The shard's key range as [first, end).
        public var keys: [Int]
        /// Running max m_i of the shard's scores (-inf when empty).
        public var max: Double
        /// Sum l_i of exp(s_j - m_i) over the shard's keys (0 when empty).
        public var sum: Double
        /// The shard's log-sum-exp lse_i (-inf when empty).
        public var lse: Double
        /// The shard's normalised output o_i (head dimension values).
        public var output: [Double]
        /// FlashAttention's loop over the shard's keys, block by block: the running state after each block.
        public var blocks: [BlockState]
        /// The shard's energy F_i(0) from `AttentionEnergy` over its keys (equal to `lse`).
        public var energy: Double
        /// The chain rule's weight exp(F_i - F) of the shard's output in o (0 for an empty shard).
        public var weight: Double
    }

    /// One merge of the tree: its level and index, its children's LSEs, their common max and weights, and the
    /// merged LSE.
    public struct Merge: Codable, Sendable {
        /// The tree level of the merged node (1 is the first level above the leaves).
        public var level: Int
        /// The merged node's index within its level.
        public var node: Int
        /// Indices of the merged children in the previous level.
        public var children: [Int]
        /// The children's LSEs, in the order of `children`.
        public var childLogSumExp: [Double]
        /// The largest of the children's LSEs.
        public var max: Double
        /// Each child's unnormalised weight exp(lse_c - max) (0 for an empty child).
        public var weights: [Double]
        /// The merged node's LSE.
        public var lse: Double
        /// The children's outputs, in the order of `children`.
        public var childOutputs: [[Double]]
        /// The merged node's output (sum_c w_c o_c) / (sum_c w_c).
        public var output: [Double]
    }

    /// One key's row of the backward: p_j, dO.v_j, dS_j and dk_j.
    public struct KeyGradient: Codable, Sendable {
        /// The key's attention probability p_j = exp(s_j - lse).
        public var p: Double
        /// The dot product dO.v_j.
        public var dOv: Double
        /// The score gradient dS_j = p_j (dO.v_j - D).
        public var dS: Double
        /// The key's gradient dk_j (head dimension values).
        public var dk: [Double]
        /// The value's gradient dv_j = p_j dO (head dimension values).
        public var dv: [Double]
    }

    /// The backward on the example: dO, D, each key's gradients, dq, the energy formulation's difference, and the
    /// tree-parallel backward (each shard's dq share, the sums up the tree, its difference from the full backward).
    public struct Backward: Codable, Sendable {
        /// The upstream gradient dO of the output (seeded, head dimension values).
        public var dO: [Double]
        /// D = dO . o, the row term of the softmax backward.
        public var delta: Double
        /// Each key's gradients, in key order.
        public var perKey: [KeyGradient]
        /// The query's gradient dq from the full backward.
        public var dq: [Double]
        /// Largest absolute difference between the energy formulation's dq, dk, dv and the full backward's.
        public var energyError: Double
        /// Each shard's share of dq, in shard order.
        public var shardShares: [[Double]]
        /// The dq sums of each merge (level, node, children, the sum).
        public var sums: [DQSum]
        /// Largest absolute difference between the tree-parallel backward's dq, dk, dv and the full backward's.
        public var treeError: Double

        /// One merge's dq sum.
        public struct DQSum: Codable, Sendable {
            /// The tree level of the merged node.
            public var level: Int
            /// The merged node's index within its level.
            public var node: Int
            /// Indices of the summed children in the previous level.
            public var children: [Int]
            /// The children's dq shares summed (head dimension values).
            public var sum: [Double]
        }
    }

    /// One strategy of the cost estimate, times in picoseconds.
    public struct Cost: Codable, Sendable {
        /// The strategy's name, "tree" or "ring".
        public var strategy: String
        /// Simulated latency of the step, in picoseconds.
        public var latency: Int64
        /// Mean time a device spends in local kernels, in picoseconds.
        public var compute: Int64
        /// Mean time a device communicates while not computing, in picoseconds.
        public var communication: Int64
        /// Mean elements sent per device by the forward.
        public var elementsSentPerDevice: Double
        /// The forward alone, in picoseconds; nil unless `settings.backward`.
        public var forwardLatency: Int64?
        /// The backward alone, in picoseconds; nil unless `settings.backward`.
        public var backwardLatency: Int64?
        /// Mean elements sent per device by the backward alone; nil unless `settings.backward`.
        public var backwardElementsSentPerDevice: Double?
    }

    /// `schemaVersion`.
    public var schemaVersion = Walkthrough.schemaVersion
    /// The choices.
    public var settings: Settings
    /// Step 1: the query q (head dimension values).
    public var query: [Double]
    /// Step 1: the keys k_j, one row of head dimension values per key.
    public var keys: [[Double]]
    /// Step 1: the values v_j, one row of head dimension values per key.
    public var values: [[Double]]
    /// Step 1: the scores s_j = q.k_j / sqrt(d), one per key (-inf for a key a causal query does not see).
    public var scores: [Double]
    /// Step 1: the keys the query sees (all, or 0...position when causal).
    public var visibleKeys: Int
    /// Step 2: the softmax p_j = exp(s_j - LSE), one per key (0 for a masked key).
    public var probabilities: [Double]
    /// Step 2: the max score m.
    public var maxScore: Double
    /// Step 2: the sum of exp(s_j - m) over all keys.
    public var expSum: Double
    /// Step 2: the log-sum-exp m + log(sum), computed by hand.
    public var lse: Double
    /// Step 2: exact attention's output (head dimension values).
    public var output: [Double]
    /// Step 2: the LSE the BLAS kernel computes, to compare with `lse`.
    public var kernelLogSumExp: Double
    /// Step 3: the energy F(0).
    public var energy: Double
    /// Step 3: the gradient dF/dzeta at 0 (head dimension values).
    public var gradient: [Double]
    /// Step 3: the central differences of F along each coordinate of zeta (h = 1e-5), to compare with `gradient`.
    public var centralDifference: [Double]
    /// Step 3: F along the direction e_c of zeta, F(t e_c), its slope at 0 being o_c.
    public var energyLine: EnergyLine
    /// Step 4: the shards' partials, in shard order.
    public var shards: [Shard]
    /// Step 4: the log-sum-exp of the shards' energies (equal to `energy`).
    public var shardEnergyLogSumExp: Double
    /// Step 4: the chain rule sum_i exp(F_i - F) o_i (equal to `output`).
    public var chainRuleOutput: [Double]
    /// Step 5: the tree's levels: levels[l][n] are the children (in level l-1) that node n merges; level 0 is empty.
    public var plan: [[[Int]]]
    /// Step 5: the tree's depth (merge levels above the leaves).
    public var depth: Int
    /// Step 5: every node's LSE, by level (level 0 the shards).
    public var nodeLogSumExp: [[Double]]
    /// Step 5: the tree's merges of two or more children, level by level.
    public var merges: [Merge]
    /// Step 6: the tree reduction's output (head dimension values).
    public var treeOutput: [Double]
    /// Step 6: the largest absolute difference between the tree's output and exact attention's.
    public var treeError: Double
    /// Step 6: Algorithm 3's output (head dimension values).
    public var algorithm3Output: [Double]
    /// Step 6: the largest absolute difference between Algorithm 3's output and exact attention's.
    public var algorithm3Error: Double
    /// Step 6: Ring Attention's order: the owner folds the shards one by one, p - 1 merges in sequence.
    public var ring: [RingStep]
    /// Step 6: the largest absolute difference between the ring's output and exact attention's.
    public var ringError: Double
    /// Step 6b (with `settings.sink`): the sink as one more term of the log-sum-exp, merged once.
    public var sink: Sink?
    /// Steps 7-8 (with `settings.backward`).
    public var backward: Backward?
    /// The cost estimate's cluster name.
    public var clusterName: String
    /// The cost estimate's GPU count.
    public var clusterDevices: Int
    /// The cost estimate of each strategy: tree, then ring.
    public var costs: [Cost]

    /// Computes the walkthrough for `settings`.
    public init(_ settings: Settings) throws {
        try settings.validate()
        self.settings = settings
        let d = settings.headDim, n = settings.tokens
        var g = SeededGenerator(seed: settings.seed)
        let typed = settings.values
        let x = try AttentionInputs(
            q: Tensor(shape: [1, 1, 1, d], data: typed?.q ?? g.normals(d)),
            k: Tensor(shape: [1, 1, n, d], data: typed.map { Array($0.k.joined()) } ?? g.normals(n * d)),
            v: Tensor(shape: [1, 1, n, d], data: typed.map { Array($0.v.joined()) } ?? g.normals(n * d)))
        let scale = 1 / Double(d).squareRoot()
        query = Array(x.q.data[0..<d])
        keys = (0..<n).map { Array(x.k.data[$0 * d..<($0 + 1) * d]) }
        values = (0..<n).map { Array(x.v.data[$0 * d..<($0 + 1) * d]) }
        let visible = settings.visibleKeys, options = settings.options
        visibleKeys = visible
        scores = (0..<n).map { j in
            j < visible ? scale * (0..<d).reduce(0.0) { $0 + x.q.data[$1] * x.k.data[j * d + $1] } : -.infinity
        }

        let exact = try ExactAttention.forward(x, options: options)
        maxScore = scores.max()!
        expSum = scores.reduce(0.0) { [maxScore] in $0 + Foundation.exp($1 - maxScore) }
        lse = maxScore + Foundation.log(expSum)
        probabilities = scores.map { [lse] in Foundation.exp($0 - lse) }
        output = Array(exact.output.data[0..<d])
        kernelLogSumExp = exact.lse.data[0]

        let energyFunction = try AttentionEnergy(inputs: x, options: options)
        gradient = Array(try energyFunction.gradient().data)
        energy = try energyFunction.value().data[0]
        centralDifference = try (0..<d).map { c in
            var zeta = Tensor<Double>(shape: [1, 1, 1, d], repeating: 0)
            zeta.data[c] = 1e-5
            let plus = try energyFunction.value(zeta: zeta).data[0]
            zeta.data[c] = -1e-5
            let minus = try energyFunction.value(zeta: zeta).data[0]
            return (plus - minus) / 2e-5
        }
        energyLine = try Self.energyLine(energyFunction, component: settings.energyComponent, headDim: d)

        let layout = try ShardLayout(keys: n, shards: settings.shards)
        let partials = try ShardedAttention.partials(x, options: options, layout: layout)
        let (allScores, allValues, f) = (scores, values, energy)
        shards = try layout.ranges.enumerated().map { i, range in
            let s = Array(allScores[range])
            let mi = s.max() ?? -.infinity
            let fi = range.isEmpty ? -.infinity : try energyFunction.value(keys: range).data[0]
            return Shard(
                keys: [range.lowerBound, range.upperBound], max: mi,
                sum: mi == -.infinity ? 0 : s.reduce(0.0) { $0 + Foundation.exp($1 - mi) },
                lse: partials[i].lse.data[0], output: Array(partials[i].output.data[0..<d]),
                blocks: Self.blockLoop(
                    scores: allScores, values: allValues, keys: range, blockSize: settings.blockSize),
                energy: fi, weight: fi == -.infinity ? 0 : Foundation.exp(fi - f))
        }
        shardEnergyLogSumExp = AttentionEnergy.logSumExp(shards.map(\.energy))
        chainRuleOutput = (0..<d).map { [shards] c in shards.reduce(0.0) { $0 + $1.weight * $1.output[c] } }

        let shape = try ReductionPlan.parseShape(settings.tree)
        let plan = try ReductionPlan(leaves: settings.shards, shape: shape)
        let trace = try TreeReduction.reduce(partials, plan: plan)
        depth = plan.depth
        self.plan = plan.levels
        nodeLogSumExp = trace.levels.map { level in level.map { $0.lse.data[0] } }
        var merges: [Merge] = []
        for (l, level) in plan.levels.enumerated().dropFirst() {
            for (node, children) in level.enumerated() where children.count > 1 {
                let ls = children.map { trace.levels[l - 1][$0].lse.data[0] }
                let m = ls.max()!
                merges.append(
                    Merge(
                        level: l, node: node, children: children, childLogSumExp: ls, max: m,
                        weights: ls.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) },
                        lse: trace.levels[l][node].lse.data[0],
                        childOutputs: children.map { Array(trace.levels[l - 1][$0].output.data[0..<d]) },
                        output: Array(trace.levels[l][node].output.data[0..<d])))
            }
        }
        self.merges = merges

        let alg3 = try Algorithm3.combine(partials)
        treeOutput = Array(trace.result.output.data[0..<d])
        algorithm3Output = Array(alg3.output.data[0..<d])
        treeError = zip(trace.result.output.data, exact.output.data).map { abs($0 - $1) }.max()!
        algorithm3Error = zip(alg3.output.data, exact.output.data).map { abs($0 - $1) }.max()!
        ring = Self.ringSteps(partials, owner: settings.ringOwner)
        ringError = zip(ring.last!.output, output).map { abs($0 - $1) }.max()!

        sink = try settings.sink.map {
            try Self.sink(x, logit: $0, options: options, exact: exact, partials: partials, root: trace.result)
        }
        backward =
            settings.backward
            ? try Self.backward(
                x, options: options, scores: scores, lse: exact.lse.data[0], layout: layout, plan: plan, shape: shape,
                seed: settings.seed)
            : nil

        let cluster = try Cluster.resolve(settings.cluster)
        let workload = try DecodeWorkload(
            sequenceLength: settings.seqLen, heads: settings.modelHeads, headDim: settings.modelHeadDim)
        let reports = try DecodeModel(
            cluster: cluster, workload: workload, step: settings.backward ? .training : .forward
        )
        .compare([.tree(collective: .tree), .ring(overlap: true)])
        (clusterName, clusterDevices) = (cluster.name, cluster.gpuCount)
        costs = reports.map { r in
            Cost(
                strategy: r.strategy, latency: r.latency.picoseconds, compute: r.compute.picoseconds,
                communication: r.communication.picoseconds, elementsSentPerDevice: r.elementsSentPerDevice,
                forwardLatency: r.forwardLatency?.picoseconds, backwardLatency: r.backwardLatency?.picoseconds,
                backwardElementsSentPerDevice: r.backwardElementsSentPerDevice)
        }
    }

    /// Steps 7-8: the gradients of L = dO . o, by hand, from the energy, and over the shards.
    static func backward(
        _ x: AttentionInputs<Double>, options: AttentionOptions, scores: [Double], lse: Double, layout: ShardLayout,
        plan: ReductionPlan, shape: ReductionPlan.Shape, seed: UInt64
    ) throws -> Backward {
        let d = x.headDim, n = x.keys
        var g = SeededGenerator(seed: seed &+ 1)
        let dO = try Tensor(shape: [1, 1, 1, d], data: g.normals(d))
        let (forward, full) = try AttentionBackward.gradients(x, dO: dO, options: options)
        let o = forward.output.data
        let delta = (0..<d).reduce(0.0) { $0 + dO.data[$1] * o[$1] }
        let perKey = (0..<n).map { j -> KeyGradient in
            let p = Foundation.exp(scores[j] - lse)
            let dOv = (0..<d).reduce(0.0) { $0 + dO.data[$1] * x.v.data[j * d + $1] }
            return KeyGradient(
                p: p, dOv: dOv, dS: p * (dOv - delta), dk: Array(full.dk.data[j * d..<(j + 1) * d]),
                dv: Array(full.dv.data[j * d..<(j + 1) * d]))
        }
        // The energy view: L(e) = d/de F(e dO) at 0; its derivatives are the Hessian-vector products of F.
        let energy = try AttentionEnergy(inputs: x, options: options).lossGradients(dO: dO)
        let energyError =
            zip(energy.dq.data + energy.dk.data + energy.dv.data, full.dq.data + full.dk.data + full.dv.data)
            .map { abs($0 - $1) }.max() ?? 0
        let sharded = try ShardedBackward.backward(
            x, dO: dO, options: options, layout: layout, reduction: .tree(shape))
        var sums: [Backward.DQSum] = []
        if let levels = sharded.dqLevels {
            for (l, level) in plan.levels.enumerated().dropFirst() {
                for (node, children) in level.enumerated() where children.count > 1 {
                    sums.append(
                        Backward.DQSum(
                            level: l, node: node, children: children, sum: Array(levels[l][node].data[0..<d])))
                }
            }
        }
        let treeError =
            zip(
                sharded.gradients.dq.data + sharded.gradients.dk.data + sharded.gradients.dv.data,
                full.dq.data + full.dk.data + full.dv.data
            ).map { abs($0 - $1) }.max() ?? 0
        return Backward(
            dO: Array(dO.data[0..<d]), delta: delta, perKey: perKey, dq: Array(full.dq.data[0..<d]),
            energyError: energyError,
            shardShares: layout.ranges.indices.map { Array(sharded.shards[$0].dq.data[0..<d]) },
            sums: sums, treeError: treeError)
    }

    /// The walkthrough as JSON: snake_case keys, sorted, pretty-printed; infinities as the strings "inf" and "-inf".
    public func json() throws -> String {
        String(decoding: try Self.encoder(pretty: true).encode(self), as: UTF8.self)
    }

    /// The JSON encoder of `json()` (and of the explainer site's data): snake_case, sorted keys, infinities as strings.
    static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
