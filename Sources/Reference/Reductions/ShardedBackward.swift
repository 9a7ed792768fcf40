/// The tree-parallel backward: keys split over p shards, as in the forward. The forward's reduction gives every shard
/// the global LSE and O, so D = rowsum(dO * O) is known everywhere; each shard then computes, from its keys alone,
/// its dK and dV (final: no other shard touches its keys) and its share of dQ. The shares are summed following the
/// same reduction plan (one all-reduce of dQ on a cluster). Equals the full backward up to the order of the dQ sum.
public enum ShardedBackward {
    /// The backward over the shards and the forward it used.
    public struct Result<S: AttentionScalar>: Sendable {
        /// The forward through the shards and the reduction (global O and LSE, shard partials, tree levels).
        public let forward: ShardedAttention.Result<S>
        /// D = rowsum(dO * O), (B, Hq, Sq).
        public let delta: Tensor<S>
        /// Per shard: its dQ share and the dK, dV of its keys.
        public let shards: [AttentionGradients<S>]
        /// dQ (the sum of the shares), dK and dV of all keys (the shards' concatenated).
        public let gradients: AttentionGradients<S>
        /// The dQ sums at each level of the plan (levels[0] = the shares); nil unless the reduction is a tree.
        public let dqLevels: [[Tensor<S>]]?
    }

    /// Bytes `backward` keeps at its peak, overflow-checked: the forward's estimate, then dO, D, the gradients, p
    /// dQ shares and, for a tree, each level's dQ sums.
    public static func estimatedBytes<S: AttentionScalar>(
        _ x: AttentionInputs<S>, layout: ShardLayout, reduction: Reduction
    ) throws -> Int {
        let what = "the backward over \(layout.count) shards"
        let size = MemoryLayout<S>.stride
        let forward = try ShardedAttention.estimatedBytes(x, layout: layout, reduction: reduction)
        let q = try MemoryBudget.product([x.batch, x.queryHeads, x.queries, x.headDim, size], for: what)
        let o = try MemoryBudget.product([x.batch, x.queryHeads, x.queries, x.valueDim + 1, size], for: what)
        var dqs = try MemoryBudget.sum([layout.count, 1], for: what)
        if case .tree(let shape) = reduction {
            dqs = try MemoryBudget.sum(
                [dqs] + (try ReductionPlan(leaves: layout.count, shape: shape)).levels.map(\.count), for: what)
        }
        return try MemoryBudget.sum(
            [forward, o, x.storageBytes, try MemoryBudget.product([q, dqs], for: what)], for: what)
    }

    /// The forward with `reduction`, then each shard's gradients and the sum of the dQ shares (with the LSE's upstream
    /// gradient `dlse` when given). Sinks' gradient is computed once, from the global LSE and D (no shard owns them).
    /// `.exact` runs the unsharded backward (no shards).
    @_specialize(exported:true,where S == Double)
    @_specialize(exported:true,where S == Float)
    public static func backward<S: AttentionScalar>(
        _ x: AttentionInputs<S>, dO: Tensor<S>, options: AttentionOptions, layout: ShardLayout, reduction: Reduction,
        dlse: Tensor<S>? = nil, blocking: KernelBlocking = .default, budget: MemoryBudget = .current
    ) throws -> Result<S> {
        try AttentionBackward.checkUpstream(x, dO)
        try budget.check(
            try estimatedBytes(x, layout: layout, reduction: reduction),
            for: "the backward over \(layout.count) shards with the \(reduction) reduction")
        let forward = try ShardedAttention.forward(
            x, options: options, layout: layout, reduction: reduction,
            blocking: blocking, budget: budget)
        let delta = try AttentionBackward.delta(output: forward.result.output, dO: dO)
        let lse = forward.result.lse
        if reduction == .exact {
            let g = try AttentionBackward.gradients(
                x, dO: dO, lse: lse, delta: delta, options: options, dlse: dlse, blocking: blocking)
            return Result(forward: forward, delta: delta, shards: [], gradients: g, dqLevels: nil)
        }
        let shards = try layout.ranges.map {
            try AttentionBackward.gradients(
                x, dO: dO, lse: lse, delta: delta, options: options, keyRange: $0, dlse: dlse, blocking: blocking)
        }
        var dqLevels: [[Tensor<S>]]? = nil
        let dq: Tensor<S>
        if case .tree(let shape) = reduction {
            let plan = try ReductionPlan(leaves: layout.count, shape: shape)
            var levels = [shards.map(\.dq)]
            for level in plan.levels.dropFirst() {
                let previous = levels.last!
                levels.append(level.map { children in sum(children.map { previous[$0] }) })
            }
            dqLevels = levels
            dq = levels.last![0]
        } else {
            // Algorithm 3's all-reduce and the ring both add the shares in shard order here.
            dq = sum(shards.map(\.dq))
        }
        var dk = Tensor<S>(shape: x.k.shape, repeating: 0), dv = Tensor<S>(shape: x.v.shape, repeating: 0)
        for (range, g) in zip(layout.ranges, shards) {
            scatter(g.dk, into: &dk, keys: range)
            scatter(g.dv, into: &dv, keys: range)
        }
        return Result(
            forward: forward, delta: delta, shards: shards,
            gradients: AttentionGradients(
                dq: dq, dk: dk, dv: dv,
                dsinks: try options.sinks.map { try AttentionSinks.gradient($0, lse: lse, delta: delta, dlse: dlse) }),
            dqLevels: dqLevels)
    }

    /// Element-wise sum of same-shape tensors, left to right.
    static func sum<S: AttentionScalar>(_ parts: [Tensor<S>]) -> Tensor<S> {
        var total = parts[0]
        for p in parts.dropFirst() { for e in 0..<total.count { total.data[e] += p.data[e] } }
        return total
    }

    /// Copies a shard's (B, H, n, D) gradient into keys `keys` of the full (B, H, Sk, D) one.
    static func scatter<S: AttentionScalar>(_ part: Tensor<S>, into full: inout Tensor<S>, keys: Range<Int>) {
        let (bh, sk, d) = (full.shape[0] * full.shape[1], full.shape[2], full.shape[3])
        let n = keys.count
        guard n * d > 0 else { return }  // no per-head work for an empty shard, however many heads
        for g in 0..<bh {
            for j in 0..<n * d { full.data[(g * sk + keys.lowerBound) * d + j] = part.data[g * n * d + j] }
        }
    }
}
