/// Attention computed the way a cluster would: one partial per key shard, then a reduction. With `.exact` it is
/// plain exact attention. The tree trace (every level's partials) is kept for tree reductions.
public enum ShardedAttention {
    public struct Result<S: AttentionScalar>: Sendable {
        public let result: AttentionPartial<S>
        /// Shard partials, one per shard (empty for exact attention).
        public let shardPartials: [AttentionPartial<S>]
        /// Every level of the tree, for tree reductions.
        public let tree: TreeReduction.Trace<S>?
    }

    /// Each shard's partial (O_i, LSE_i), keys keeping their global positions for masks.
    public static func partials<S: AttentionScalar>(
        _ x: AttentionInputs<S>, options: AttentionOptions, layout: ShardLayout, blocking: KernelBlocking = .default
    ) throws -> [AttentionPartial<S>] {
        guard layout.keys == x.keys else {
            throw ReferenceError.invalidOption("shard layout covers \(layout.keys) keys but K has \(x.keys)")
        }
        return try layout.ranges.map { try ExactAttention.forward(x, options: options, keyRange: $0, blocking: blocking) }
    }

    public static func forward<S: AttentionScalar>(
        _ x: AttentionInputs<S>, options: AttentionOptions, layout: ShardLayout, reduction: Reduction,
        blocking: KernelBlocking = .default
    ) throws -> Result<S> {
        switch reduction {
        case .exact:
            return Result(result: try ExactAttention.forward(x, options: options, blocking: blocking), shardPartials: [], tree: nil)
        case .ring:
            let out = try RingAttention.forward(x, options: options, layout: layout, blocking: blocking)
            return Result(result: out, shardPartials: [], tree: nil)
        case .algorithm3:
            let parts = try partials(x, options: options, layout: layout, blocking: blocking)
            return Result(result: try Algorithm3.combine(parts), shardPartials: parts, tree: nil)
        case .tree(let shape):
            let parts = try partials(x, options: options, layout: layout, blocking: blocking)
            let trace = try TreeReduction.reduce(parts, plan: ReductionPlan(leaves: layout.count, shape: shape))
            return Result(result: trace.result, shardPartials: parts, tree: trace)
        }
    }
}
