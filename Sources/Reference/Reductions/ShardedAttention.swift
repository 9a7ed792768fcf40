/// Attention computed the way a cluster would: one partial per key shard, then a reduction. With `.exact` it is
/// plain exact attention. The tree trace (every level's partials) is kept for tree reductions.
public enum ShardedAttention {
    /// The reduced result and the partials it came from.
    public struct Result<S: AttentionScalar>: Sendable {
        /// The final (O, LSE) after the reduction (and the sinks, merged once).
        public let result: AttentionPartial<S>
        /// Shard partials, one per shard (empty for exact attention).
        public let shardPartials: [AttentionPartial<S>]
        /// Every level of the tree, for tree reductions.
        public let tree: TreeReduction.Trace<S>?
    }

    /// Each shard's partial (O_i, LSE_i), keys keeping their global positions for masks.
    public static func partials<X: AttentionOperands>(
        _ x: X, options: AttentionOptions, layout: ShardLayout, blocking: KernelBlocking = .default
    ) throws -> [AttentionPartial<X.Scalar>] {
        guard layout.keys == x.keys else {
            throw ReferenceError.invalidOption("shard layout covers \(layout.keys) keys but K has \(x.keys)")
        }
        return try layout.ranges.map {
            try ExactAttention.forward(x, options: options, keyRange: $0, blocking: blocking)
        }
    }

    /// Refuses (one line naming the estimate) before computing when the partials it keeps exceed `budget`: p shard
    /// partials plus, for a tree, every node of every level (`estimatedBytes`).
    /// Bytes `forward` keeps at its peak, overflow-checked: the inputs, the result, and each partial it holds
    /// (B x Hq x Sq x (Dv + 1) scalars): p shard partials for Algorithm 3, p plus every node of every tree level for a
    /// tree (carried nodes included, an upper bound), two for ring attention.
    public static func estimatedBytes<X: AttentionOperands>(_ x: X, layout: ShardLayout, reduction: Reduction) throws
        -> Int
    {
        let what = "attention over \(layout.count) shards"
        let size = MemoryLayout<X.Scalar>.stride
        let partial = try MemoryBudget.product([x.batch, x.queryHeads, x.queries, x.valueDim + 1, size], for: what)
        let inputs = x.storageBytes
        var partials: Int
        switch reduction {
        case .exact: partials = 1
        case .ring: partials = 2
        case .algorithm3: partials = try MemoryBudget.sum([layout.count, 1], for: what)
        case .tree(let shape):
            let plan = try ReductionPlan(leaves: layout.count, shape: shape)
            partials = try MemoryBudget.sum([layout.count] + plan.levels.map(\.count), for: what)
        }
        return try MemoryBudget.sum([inputs, try MemoryBudget.product([partial, partials], for: what)], for: what)
    }

    /// The forward over the key shards of `layout`, combined by `reduction`; sinks (`AttentionOptions.sinks`) are left
    /// out of the shard partials and the tree's levels and merged once into the result. `estimatedBytes` is checked against
    /// `budget` first; throws when it exceeds the budget or the layout does not cover K's keys.
    public static func forward<X: AttentionOperands>(
        _ x: X, options: AttentionOptions, layout: ShardLayout, reduction: Reduction,
        blocking: KernelBlocking = .default, budget: MemoryBudget = .current
    ) throws -> Result<X.Scalar> {
        try budget.check(
            try estimatedBytes(x, layout: layout, reduction: reduction),
            for: "attention over \(layout.count) shards with the \(reduction) reduction")
        switch reduction {
        case .exact:
            return Result(
                result: try ExactAttention.forward(x, options: options, blocking: blocking), shardPartials: [],
                tree: nil)
        case .ring:
            let out = try RingAttention.forward(x, options: options, layout: layout, blocking: blocking)
            return Result(result: out, shardPartials: [], tree: nil)
        case .algorithm3:
            let parts = try partials(x, options: options, layout: layout, blocking: blocking)
            return Result(
                result: try AttentionSinks.apply(options.sinks, to: try Algorithm3.combine(parts)),
                shardPartials: parts,
                tree: nil)
        case .tree(let shape):
            let parts = try partials(x, options: options, layout: layout, blocking: blocking)
            let trace = try TreeReduction.reduce(parts, plan: ReductionPlan(leaves: layout.count, shape: shape))
            return Result(
                result: try AttentionSinks.apply(options.sinks, to: trace.result), shardPartials: parts, tree: trace)
        }
    }
}
