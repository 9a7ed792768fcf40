/// The NaN/Inf warnings of an attention's inputs, counted only where such values can reach an output: every value of
/// q (a NaN query row is that row's NaN output), but only the keys of k and v that some query row sees. Keys past a
/// row's cache length, outside every row's causal or sliding window, masked out for every row, or in the unused slots
/// of a paged cache (gathered as zeros) are never read into a result, so NaN there is the documented layout, not a
/// problem, and is not warned about. One warning line per tensor at most.
public enum InputWarnings {
    /// The warning for `bad` NaN/Inf values of tensor `role`, none when there are none.
    public static func line(_ role: String, _ bad: Int, _ propagation: String) -> [String] {
        bad > 0 ? ["\(role) holds \(bad) NaN/Inf values; \(propagation)"] : []
    }

    /// NaN/Inf values of a (batch, kvHeads, n, dim) key or value tensor at the keys some query row sees: key j of the
    /// tensor is global key `keyOffset + j` of `rule` (a shard's keys keep their global positions), seen by query
    /// head h of (b, kv head g) when h / (queryHeads / kvHeads) == g. `isBad(e)` tells whether flat element e is NaN
    /// or infinite; it is asked only about elements of seen keys.
    public static func visibleBad(
        shape: [Int], keyOffset: Int = 0, rule: ScoreRule, queryHeads: Int, isBad: (Int) -> Bool
    ) -> Int {
        guard shape.count == 4 else { return 0 }
        let (batch, kvHeads, n, dim) = (shape[0], shape[1], shape[2], shape[3])
        guard batch > 0, kvHeads > 0, n > 0, dim > 0, rule.queries > 0 else { return 0 }
        let group = max(1, queryHeads / kvHeads)
        // Only boolean and additive masks exclude keys inside a row's interval (softcap and ALiBi change scores).
        let masked = rule.options.mask != nil || rule.options.additiveMask != nil
        var bad = 0
        for b in 0..<batch {
            // Keys inside some row's interval: a difference array over the tensor's keys.
            var cover = [Int](repeating: 0, count: n + 1)
            for i in 0..<rule.queries {
                let interval = rule.keyInterval(batch: b, query: i)
                let lo = max(interval.lowerBound - keyOffset, 0), hi = min(interval.upperBound - keyOffset, n)
                if lo < hi {
                    cover[lo] += 1
                    cover[hi] -= 1
                }
            }
            var running = 0
            for j in 0..<n {
                running += cover[j]
                guard running > 0 else { continue }
                for g in 0..<kvHeads {
                    let base = ((b * kvHeads + g) * n + j) * dim
                    var count = 0
                    for c in 0..<dim where isBad(base + c) { count += 1 }
                    guard count > 0 else { continue }
                    if !masked || seen(b, g, keyOffset + j, group: group, rule: rule) { bad += count }
                }
            }
        }
        return bad
    }

    /// The counts of q, k and v as `bad` holds them read (q's every value; k's and v's counts only say whether to
    /// look), with k's and v's replaced by their NaN/Inf at keys some query sees (`visibleBad`, under the rule of
    /// `options` for a problem of `keys` keys; the tensors' keys start at `keyOffset`). What the attention job and a
    /// distributed rank both report.
    public static func counts<X: AttentionOperands>(
        _ inputs: X, bad: [Int], options: AttentionOptions, keys: Int, keyOffset: Int = 0,
        isBad: (k: (Int) -> Bool, v: (Int) -> Bool)
    ) throws -> [Int] {
        var counts = [bad[0], 0, 0]
        guard bad[1] > 0 || bad[2] > 0 else { return counts }
        let rule = try ScoreRule(
            options: options, batch: inputs.batch, queryHeads: inputs.queryHeads, queries: inputs.queries,
            keys: keys, headDim: inputs.headDim)
        for (index, shape) in [(1, inputs.shapes.k), (2, inputs.shapes.v)] where bad[index] > 0 {
            counts[index] = visibleBad(
                shape: shape, keyOffset: keyOffset, rule: rule, queryHeads: inputs.queryHeads,
                isBad: index == 1 ? isBad.k : isBad.v)
        }
        return counts
    }

    /// Whether some query head of kv head `g` and some query row see global key `j` through the element-wise masks.
    static func seen(_ b: Int, _ g: Int, _ j: Int, group: Int, rule: ScoreRule) -> Bool {
        for h in g * group..<(g + 1) * group {
            for i in 0..<rule.queries where rule.isVisible(batch: b, head: h, query: i, key: j) { return true }
        }
        return false
    }
}
