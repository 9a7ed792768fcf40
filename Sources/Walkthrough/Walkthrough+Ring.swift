import Foundation
import Reference

extension Walkthrough {
    /// One step of Ring Attention's order: the owner folds the partial of the shard it holds now into its running
    /// (o, lse) with ring-flash-attention's update, lse' = lse + log(1 + exp(lse_blk - lse)) and
    /// o' = o - sigmoid(lse_blk - lse) (o - o_blk). The p steps run one after another, where a tree's merges of one
    /// level run side by side.
    public struct RingStep: Codable, Sendable {
        /// The shard whose partial is folded in.
        public var shard: Int
        /// That shard's LSE, lse_blk.
        public var blockLogSumExp: Double
        /// The running LSE before the step (-inf before the first).
        public var previousLogSumExp: Double
        /// sigmoid(lse_blk - lse), the share the block takes (1 into an empty running state, 0 for an empty block).
        public var sigmoid: Double
        /// The running LSE after the step.
        public var lse: Double
        /// The running output after the step.
        public var output: [Double]
    }

    /// The owner's ring order over the shards' `partials`, folded with `RingAttention.fold`.
    static func ringSteps(_ partials: [AttentionPartial<Double>], owner: Int) -> [RingStep] {
        var running = AttentionPartial<Double>.empty(
            batch: 1, heads: 1, queries: 1, valueDim: partials[0].valueDim)
        return RingAttention.visitOrder(shards: partials.count, owner: owner).map { shard in
            let block = partials[shard]
            let (lb, before) = (block.lse.data[0], running.lse.data[0])
            let sigmoid = lb == -.infinity ? 0 : before == -.infinity ? 1 : 1 / (1 + Foundation.exp(before - lb))
            RingAttention.fold(block, into: &running)
            return RingStep(
                shard: shard, blockLogSumExp: lb, previousLogSumExp: before, sigmoid: sigmoid,
                lse: running.lse.data[0], output: running.output.data)
        }
    }
}
