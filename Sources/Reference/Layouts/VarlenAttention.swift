/// Packed variable-length sequences, as FlashAttention's varlen API takes them: sequence i's queries are rows
/// cu_seqlens_q[i] ..< cu_seqlens_q[i+1] of Q (total_q, Hq, D), its keys rows cu_seqlens_k[i] ..< cu_seqlens_k[i+1] of
/// K and V (total_k, Hkv, D). Rows after the last offset are padding, never read. With FlashAttention 3's
/// `seqused_q`/`seqused_k`, sequence i uses only the first rows of its span (`using(queries:keys:)`).
public struct VarlenLayout: Equatable, Sendable {
    /// Cumulative query lengths (cu_seqlens_q): sequence i's queries are packed rows cuSeqlensQ[i] ..< cuSeqlensQ[i+1];
    /// one more entry than sequences, starting at 0.
    public let cuSeqlensQ: [Int]
    /// Cumulative key lengths (cu_seqlens_k): sequence i's keys are packed rows cuSeqlensK[i] ..< cuSeqlensK[i+1].
    public let cuSeqlensK: [Int]
    /// FlashAttention 3's `seqused_q`: sequence i uses only its first sequsedQ[i] query rows (the rest are storage
    /// the kernel need not write: output 0, LSE -inf); nil: every row.
    public private(set) var sequsedQ: [Int]?
    /// FlashAttention 3's `seqused_k`: sequence i uses only its first sequsedK[i] keys (the rest are never read, and
    /// the causal alignment counts only these); nil: every key.
    public private(set) var sequsedK: [Int]?

    /// Checks the offsets: the same count (at least 2), starting at 0, non-decreasing, ending within the totals.
    public init(cuSeqlensQ: [Int], cuSeqlensK: [Int], totalQ: Int, totalK: Int) throws {
        for (name, cu, total) in [("cu_seqlens_q", cuSeqlensQ, totalQ), ("cu_seqlens_k", cuSeqlensK, totalK)] {
            guard cu.count >= 2, cu[0] == 0 else {
                throw ReferenceError.invalidOption("\(name) must start at 0 and hold at least 2 offsets, got \(cu)")
            }
            guard zip(cu, cu.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw ReferenceError.invalidOption("\(name) must be non-decreasing, got \(cu)")
            }
            guard cu.last! <= total else {
                throw ReferenceError.invalidOption("\(name) ends at \(cu.last!), beyond the \(total) packed rows")
            }
        }
        guard cuSeqlensQ.count == cuSeqlensK.count else {
            throw ReferenceError.invalidOption(
                "cu_seqlens_q has \(cuSeqlensQ.count - 1) sequences but cu_seqlens_k has \(cuSeqlensK.count - 1)")
        }
        (self.cuSeqlensQ, self.cuSeqlensK) = (cuSeqlensQ, cuSeqlensK)
    }

    /// Offsets from per-sequence lengths.
    public init(seqlensQ: [Int], seqlensK: [Int]) throws {
        func offsets(_ lengths: [Int]) -> [Int] { lengths.reduce(into: [0]) { $0.append($0.last! + $1) } }
        let (q, k) = (offsets(seqlensQ), offsets(seqlensK))
        try self.init(cuSeqlensQ: q, cuSeqlensK: k, totalQ: q.last!, totalK: k.last!)
    }

    /// This layout with sequence i using only its first `queries[i]` query rows and `keys[i]` keys (FlashAttention
    /// 3's `seqused_q`, `seqused_k`; nil: all of them). Each count must lie within its sequence's span.
    public func using(queries: [Int]?, keys: [Int]?) throws -> VarlenLayout {
        var out = self
        for (name, used, cu) in [("seqused_q", queries, cuSeqlensQ), ("seqused_k", keys, cuSeqlensK)] {
            guard let used else { continue }
            guard used.count == sequences else {
                throw ReferenceError.invalidOption(
                    "\(name) needs one count per sequence (\(sequences)), got \(used.count)")
            }
            for (i, n) in used.enumerated() where n < 0 || n > cu[i + 1] - cu[i] {
                throw ReferenceError.invalidOption(
                    "\(name)[\(i)] = \(n) outside 0...\(cu[i + 1] - cu[i]) (the sequence's packed rows)")
            }
        }
        (out.sequsedQ, out.sequsedK) = (queries, keys)
        return out
    }

    /// The same layout checked against the packed totals of its tensors.
    public func checked(totalQ: Int, totalK: Int) throws -> VarlenLayout {
        try VarlenLayout(cuSeqlensQ: cuSeqlensQ, cuSeqlensK: cuSeqlensK, totalQ: totalQ, totalK: totalK)
            .using(queries: sequsedQ, keys: sequsedK)
    }

    /// Number of packed sequences.
    public var sequences: Int { cuSeqlensQ.count - 1 }
    /// The packed query rows sequence `i` uses (its first `sequsedQ[i]` with seqused_q).
    public func queries(_ i: Int) -> Range<Int> {
        cuSeqlensQ[i]..<(cuSeqlensQ[i] + (sequsedQ?[i] ?? span(cuSeqlensQ, i)))
    }
    /// The packed key rows sequence `i` uses (its first `sequsedK[i]` with seqused_k).
    public func keys(_ i: Int) -> Range<Int> { cuSeqlensK[i]..<(cuSeqlensK[i] + (sequsedK?[i] ?? span(cuSeqlensK, i))) }

    private func span(_ cu: [Int], _ i: Int) -> Int { cu[i + 1] - cu[i] }
}

/// Attention over packed variable-length sequences: each sequence is its own problem (causal alignment, windows and
/// ALiBi use that sequence's lengths, as `flash_attn_varlen_func` does) and never sees another sequence's keys.
/// Output (total_q, Hq, Dv) and LSE (Hq, total_q), FlashAttention's varlen layouts; padding rows, and rows past a
/// sequence's `seqused_q`, give (0, -inf); keys past its `seqused_k` are never read.
public enum VarlenAttention {
    /// Runs `compute` on each sequence's (1, H, s, D) inputs and packs the results. Options may not hold cache
    /// lengths or masks (a sequence's lengths are its own).
    public static func run<S: AttentionScalar>(
        q: Tensor<S>, k: Tensor<S>, v: Tensor<S>, layout: VarlenLayout, options: AttentionOptions,
        compute: (AttentionInputs<S>, AttentionOptions) throws -> AttentionPartial<S>
    ) throws -> (output: Tensor<S>, lse: Tensor<S>) {
        for (name, t) in [("q", q), ("k", k), ("v", v)] where t.rank != 3 {
            throw ReferenceError.shape(
                "varlen \(name) must have rank 3 (total_tokens, heads, dim), got shape \(t.shape)")
        }
        guard options.cacheSeqlens == nil, options.mask == nil, options.additiveMask == nil else {
            throw ReferenceError.invalidOption(
                "varlen attention takes no cache lengths or masks (each sequence's lengths are its own)")
        }
        let layoutChecked = try layout.checked(totalQ: q.shape[0], totalK: k.shape[0])
        let (hq, dv) = (q.shape[1], v.shape[2])
        var output = Tensor<S>(shape: [q.shape[0], hq, dv], repeating: 0)
        var lse = Tensor<S>(shape: [hq, q.shape[0]], repeating: -.infinity)
        for i in 0..<layoutChecked.sequences {
            let rq = layoutChecked.queries(i), rk = layoutChecked.keys(i)
            // A sequence without queries has nothing to compute (and no per-head work, however many heads).
            if rq.isEmpty { continue }
            let x = try AttentionInputs(q: slice(q, rq), k: slice(k, rk), v: slice(v, rk))
            let part = try compute(x, options)
            let (total, count) = (q.shape[0], rq.count)
            for h in 0..<hq {
                for (n, row) in rq.enumerated() {
                    lse.data[h * total + row] = part.lse.data[h * count + n]
                    let dst = (row * hq + h) * dv, src = (h * count + n) * dv
                    for c in 0..<dv { output.data[dst + c] = part.output.data[src + c] }
                }
            }
        }
        return (output, lse)
    }

    /// Exact attention per sequence on the BLAS kernel.
    public static func forward<S: AttentionScalar>(
        q: Tensor<S>, k: Tensor<S>, v: Tensor<S>, layout: VarlenLayout, options: AttentionOptions = AttentionOptions(),
        blocking: KernelBlocking = .default
    ) throws -> (output: Tensor<S>, lse: Tensor<S>) {
        try run(q: q, k: k, v: v, layout: layout, options: options) {
            try ExactAttention.forward($0, options: $1, blocking: blocking)
        }
    }

    /// Rows `rows` of a (T, H, D) tensor as (1, H, rows.count, D).
    static func slice<S: AttentionScalar>(_ t: Tensor<S>, _ rows: Range<Int>) throws -> Tensor<S> {
        let (h, d, count) = (t.shape[1], t.shape[2], rows.count)
        var out = [S](repeating: 0, count: count * h * d)
        for (n, row) in rows.enumerated() {
            for head in 0..<h {
                let dst = (head * count + n) * d, src = (row * h + head) * d
                for c in 0..<d { out[dst + c] = t.data[src + c] }
            }
        }
        return try Tensor(shape: [1, h, rows.count, d], data: out)
    }
}
