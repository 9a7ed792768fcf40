/// Where each rank's tokens sit when a sequence of n tokens is split over p ranks for context-parallel prefill, and
/// how many (query, key) pairs a causal mask lets one rank's queries see of another rank's keys. The pair counts are
/// closed forms (sums of clamped arithmetic series), exact for any n and p; `PrefillTests` checks them against an
/// enumeration of the positions.
public enum PrefillPlacement: String, CaseIterable, Sendable {
    /// Rank r holds one contiguous range (Ring Attention): the even split, the first n mod p ranks one token more.
    /// Causal work grows with r: the last rank sees every earlier chunk.
    case contiguous
    /// The sequence is cut into 2p chunks (the even split), rank r holding chunks r and 2p-1-r: zigzag ring attention
    /// (ring-flash-attention) and Llama 3's context parallelism. Every rank does the same causal work.
    case zigzag
    /// Token i on rank i mod p (Striped Attention, Brandon et al. 2023): near-equal causal work, every block a
    /// triangle.
    case striped

    /// Positions start, start + stride, ... (count of them).
    struct Run: Equatable, Sendable {
        var start: Int
        var count: Int
        var stride: Int
    }

    /// The positions rank r holds, as runs in increasing order.
    func runs(rank r: Int, ranks p: Int, tokens n: Int) -> [Run] {
        switch self {
        case .contiguous: return [Self.chunk(r, of: p, tokens: n)]
        case .zigzag: return [Self.chunk(r, of: 2 * p, tokens: n), Self.chunk(2 * p - 1 - r, of: 2 * p, tokens: n)]
        case .striped: return [Run(start: r, count: r < n ? (n - r + p - 1) / p : 0, stride: p)]
        }
    }

    /// Chunk i of the even split of n tokens into m chunks.
    static func chunk(_ i: Int, of m: Int, tokens n: Int) -> Run {
        let base = n / m, extra = n % m
        return Run(start: i * base + min(i, extra), count: base + (i < extra ? 1 : 0), stride: 1)
    }

    /// Tokens (queries and keys) on rank r.
    public func tokens(rank r: Int, ranks p: Int, tokens n: Int) -> Int {
        runs(rank: r, ranks: p, tokens: n).reduce(0) { $0 + $1.count }
    }

    /// The (query, key) pairs rank `queries`' queries see of rank `keys`' keys: every pair without a causal mask,
    /// key position <= query position with one.
    public func visiblePairs(queries qr: Int, keys kr: Int, ranks p: Int, tokens n: Int, causal: Bool) -> Int {
        let qs = runs(rank: qr, ranks: p, tokens: n), ks = runs(rank: kr, ranks: p, tokens: n)
        var total = 0
        for a in qs { for b in ks { total += causal ? Self.causalPairs(a, b) : a.count * b.count } }
        return total
    }

    /// The pairs rank `queries`' queries see of all n keys (a rank that has gathered the whole K/V).
    public func visiblePairsOfAllKeys(queries qr: Int, ranks p: Int, tokens n: Int, causal: Bool) -> Int {
        let all = Run(start: 0, count: n, stride: 1)
        return runs(rank: qr, ranks: p, tokens: n).reduce(0) {
            $0 + (causal ? Self.causalPairs($1, all) : $1.count * n)
        }
    }

    /// Pairs (a, b), a in `q`, b in `k`, with b <= a. Equal strides s (the placements' own runs): for the j-th
    /// query, the keys at or before it number clamp(j + c, 0, k.count) with c = floor((q.start - k.start) / s) + 1;
    /// unequal strides (a striped run against a whole sequence) are summed query by query.
    static func causalPairs(_ q: Run, _ k: Run) -> Int {
        guard q.count > 0, k.count > 0 else { return 0 }
        guard q.stride == k.stride else {
            var total = 0
            for j in 0..<q.count { total += keysAtOrBefore(q.start + j * q.stride, k) }
            return total
        }
        let d = q.start - k.start, s = q.stride
        let c = (d >= 0 ? d / s : -((-d + s - 1) / s)) + 1
        return sumClamped(count: q.count, offset: c, cap: k.count)
    }

    /// Keys of run `k` at or before position `x`.
    static func keysAtOrBefore(_ x: Int, _ k: Run) -> Int {
        guard x >= k.start else { return 0 }
        return min(k.count, (x - k.start) / k.stride + 1)
    }

    /// Sum over x = 0..<count of clamp(x + offset, 0, cap).
    static func sumClamped(count: Int, offset c: Int, cap: Int) -> Int {
        let first = c, last = c + count - 1
        var total = 0
        let lo = max(first, 1), hi = min(last, cap)
        if hi >= lo { total += (lo + hi) * (hi - lo + 1) / 2 }
        let saturated = last - max(first, cap + 1) + 1
        if saturated > 0 { total += cap * saturated }
        return total
    }
}
