/// gpt-oss's learnable attention sinks, as one more partial of the log-sum-exp merge.
///
/// A sink is one logit z_h per query head that joins every row's softmax denominator and carries no value:
///   O_i = sum_a exp(s_ia - LSE_i) v_a,   LSE_i = log(exp(z_h) + sum_a exp(s_ia)).
/// The sink is a final score: not multiplied by the softmax scale and not capped (gpt-oss, FlashAttention 4's
/// `learnable_sink`, vLLM's `s_aux`, FlashInfer's `AttentionSink` add it after scaling). In the energy view it is one
/// more term of F_i's log-sum-exp with a zero value, so it is the partial (O = 0, LSE = z_h): attention with sinks is
/// the attention without them merged once with that partial (`MergeOperator`). A tree or ring over key shards stays
/// exact when the sink enters the merge exactly once; here it is merged at the root, after the shards' reduction.
///
/// The backward: with D_i = rowsum(dO_i * O_i) and the upstream gradient of the LSE dlse_i (0 without one),
///   dz_h = sum over the rows (b, i) of head h of exp(z_h - LSE_i) (dlse_i - D_i),
/// and dQ, dK, dV are those of attention without sinks computed with the LSE that includes them.
public enum AttentionSinks {
    /// The sinks' own partial: output 0 and LSE z_h in every row of head h (shape of `like`).
    public static func partial<S: AttentionScalar>(_ sinks: [Double], like: AttentionPartial<S>) throws
        -> AttentionPartial<S>
    {
        let (b, h, q, dv) = (like.output.shape[0], like.output.shape[1], like.output.shape[2], like.valueDim)
        guard sinks.count == h else {
            throw ReferenceError.invalidOption("sinks need one logit per query head (\(h)), got \(sinks.count)")
        }
        var result = AttentionPartial<S>.empty(batch: b, heads: h, queries: q, valueDim: dv)
        for row in 0..<result.rows { result.lse.data[row] = S(sinks[(row / max(q, 1)) % h]) }
        return result
    }

    /// `result` with the sinks merged in once (the result itself when `sinks` is nil).
    public static func apply<S: AttentionScalar>(_ sinks: [Double]?, to result: AttentionPartial<S>) throws
        -> AttentionPartial<S>
    {
        guard let sinks, result.rows > 0 else { return result }
        return try MergeOperator.merge(result, try partial(sinks, like: result))
    }

    /// The gradient of the loss with respect to each head's sink logit (shape (Hq)), from the forward's LSE (which
    /// includes the sinks), D = rowsum(dO * O) and the LSE's upstream gradient `dlse` (all (B, Hq, Sq)).
    public static func gradient<S: AttentionScalar>(
        _ sinks: [Double], lse: Tensor<S>, delta: Tensor<S>, dlse: Tensor<S>?
    ) throws -> Tensor<S> {
        guard lse.rank == 3, delta.shape == lse.shape, dlse == nil || dlse!.shape == lse.shape,
            sinks.count == lse.shape[1]
        else {
            throw ReferenceError.shape(
                "sink gradient: lse \(lse.shape), delta \(delta.shape) and \(sinks.count) sinks do not match")
        }
        let (heads, queries) = (lse.shape[1], lse.shape[2])
        var out = Tensor<S>(shape: [heads], repeating: 0)
        for row in 0..<lse.count {
            let h = (row / max(queries, 1)) % heads
            let weight = S.portableExp(S(sinks[h]) - lse.data[row])
            out.data[h] += weight * ((dlse?.data[row] ?? 0) - delta.data[row])
        }
        return out
    }
}
