import RealModule

/// Ring Attention's reference order: the device that owns the queries visits the K/V shards in ring order
/// (its own, then the one received from its left neighbour, ...), folding each shard's block result into a running
/// (O, LSE) with the online-softmax update used by ring-flash-attention:
///   lse' = lse + log(1 + exp(lse_blk - lse)),  O' = O - sigmoid(lse_blk - lse) (O - O_blk),
/// with empty rows (LSE -inf) normalised first so the sigmoid form never sees -inf.
public enum RingAttention {
    /// Visit order of the shards for the device `owner` of a p-device ring: owner, owner-1, ..., owner+1 (mod p).
    public static func visitOrder(shards p: Int, owner: Int) -> [Int] {
        (0..<p).map { ((owner - $0) % p + p) % p }
    }

    /// Attention of `x` over the key shards of `layout`, folded in device `owner`'s ring order, with any sinks merged
    /// once at the end. Throws
    /// `ReferenceError.invalidOption` when the layout does not cover K's keys or `owner` is not a shard.
    public static func forward<X: AttentionOperands>(
        _ x: X, options: AttentionOptions = AttentionOptions(), layout: ShardLayout, owner: Int = 0,
        blocking: KernelBlocking = .default
    ) throws -> AttentionPartial<X.Scalar> {
        guard layout.keys == x.keys else {
            throw ReferenceError.invalidOption("shard layout covers \(layout.keys) keys but K has \(x.keys)")
        }
        guard (0..<layout.count).contains(owner) else {
            throw ReferenceError.invalidOption("ring owner \(owner) outside 0..<\(layout.count)")
        }
        var running = AttentionPartial<X.Scalar>.empty(
            batch: x.batch, heads: x.queryHeads, queries: x.queries, valueDim: x.valueDim)
        for shard in visitOrder(shards: layout.count, owner: owner) {
            fold(
                try ExactAttention.forward(x, options: options, keyRange: layout.ranges[shard], blocking: blocking),
                into: &running)
        }
        // Sinks join once, after the last shard (`AttentionSinks`).
        return try AttentionSinks.apply(options.sinks, to: running)
    }

    /// One step of the ring: folds a block's partial into the running (O, LSE), row by row.
    public static func fold<S: AttentionScalar>(_ block: AttentionPartial<S>, into running: inout AttentionPartial<S>) {
        let dv = running.valueDim
        for row in 0..<running.rows {
            let lb = block.lse.data[row], l = running.lse.data[row]
            if lb == -.infinity { continue }
            if l == -.infinity {
                running.lse.data[row] = lb
                for c in 0..<dv { running.output.data[row * dv + c] = block.output.data[row * dv + c] }
                continue
            }
            let diff = lb - l
            let sigmoid = 1 / (1 + S.portableExp(-diff))
            for c in 0..<dv {
                let o = running.output.data[row * dv + c]
                running.output.data[row * dv + c] = o - sigmoid * (o - block.output.data[row * dv + c])
            }
            running.lse.data[row] =
                diff > 0 ? lb + S.portableLog1p(S.portableExp(-diff)) : l + S.portableLog1p(S.portableExp(diff))
        }
    }
}
