/// Runs a `ReductionPlan` over shard partials with the merge operator, keeping every level's partials so users can
/// compare their own tree kernels level by level.
public enum TreeReduction {
    /// The result of a reduction: the root partial and all levels (levels[0] = the leaves).
    public struct Trace<S: AttentionScalar>: Sendable {
        /// The plan that was followed.
        public let plan: ReductionPlan
        /// Every level's partials: levels[0] the leaves, the last level the root alone.
        public let levels: [[AttentionPartial<S>]]
        /// The root partial.
        public var result: AttentionPartial<S> { levels.last![0] }
    }

    /// Merges `leaves` following `plan`; each node is one n-ary merge of its children in order.
    public static func reduce<S: AttentionScalar>(
        _ leaves: [AttentionPartial<S>], plan: ReductionPlan
    ) throws -> Trace<S> {
        guard leaves.count == plan.leaves else {
            throw ReferenceError.invalidOption("plan has \(plan.leaves) leaves but \(leaves.count) partials were given")
        }
        var levels = [leaves]
        for level in plan.levels.dropFirst() {
            let previous = levels.last!
            levels.append(
                try level.map { children in
                    children.count == 1 ? previous[children[0]] : try MergeOperator.merge(children.map { previous[$0] })
                })
        }
        return Trace(plan: plan, levels: levels)
    }
}
