/// Emulates the naive same-precision attention a kernel engineer would write in PyTorch for a test dtype t
/// (FlashAttention's `attention_ref` without upcast): inputs in t; S = t(f32-accumulated Q.K^T); S = t(S * scale);
/// softcap and biases applied, rounded to t; P = t(softmax computed in f32, over the scores and any sink); O =
/// t(f32-accumulated P.V); LSE in f32 (including the sink).
/// With dropout (FlashAttention's `attention_ref`): P masked to 0 where the keep mask is false, and V scaled in t,
/// O = t(f32-accumulated P_drop . t(V * 1/(1-p))); the LSE stays that of the undropped scores.
/// Its error against the f64 golden is the baseline of the pass rule. Pure IEEE arithmetic: same bits everywhere.
public enum NaivePipeline {
    /// The naive pipeline's output and LSE.
    public struct Result: Sendable {
        /// Output, flat (batch, query heads, seq_q, value dim), each value rounded to the test dtype; 0 in rows with no
        /// visible key.
        public let output: [Double]
        /// LSE in f32 (natural log), flat (batch, query heads, seq_q); -inf in rows with no visible key.
        public let lse: [Double]
    }

    /// Runs the naive pipeline in test dtype `dtype` on inputs already rounded to it; throws
    /// `ReferenceError.invalidOption` or `ReferenceError.shape` when `options` do not fit the inputs.
    public static func run(
        _ x: AttentionInputs<Double>, options: AttentionOptions, dtype: DType, dropout: AttentionDropout? = nil
    ) throws -> Result {
        let rule = try ScoreRule(
            options: options, batch: x.batch, queryHeads: x.queryHeads, queries: x.queries,
            keys: x.keys, headDim: x.headDim)
        func t(_ v: Float) -> Float { Float(Rounding.to(dtype, Double(v))) }
        let (d, dv) = (x.headDim, x.valueDim)
        var output = [Double](repeating: 0, count: x.batch * x.queryHeads * x.queries * dv)
        var lse = [Double](repeating: -.infinity, count: x.batch * x.queryHeads * x.queries)
        let q = x.q.data.map { Float($0) }, k = x.k.data.map { Float($0) }
        let v = x.v.data.map { dropout == nil ? Float($0) : t(Float($0) * Float(dropout!.scaling)) }
        let scale = t(Float(rule.scale))
        var scores = [Float](repeating: 0, count: x.keys)
        var visible = [Bool](repeating: false, count: x.keys)
        for b in 0..<x.batch {
            for h in 0..<x.queryHeads {
                for i in 0..<x.queries {
                    let kvh = h / x.groupSize
                    let row = (b * x.queryHeads + h) * x.queries + i
                    let qBase = row * d
                    var m = -Float.infinity
                    for j in 0..<x.keys {
                        visible[j] = rule.isVisible(batch: b, head: h, query: i, key: j)
                        guard visible[j] else { continue }
                        let kBase = ((b * x.kvHeads + kvh) * x.keys + j) * d
                        var acc: Float = 0
                        for c in 0..<d { acc += q[qBase + c] * k[kBase + c] }
                        // Softcap, ALiBi and additive biases applied to the rounded scaled score, the result rounded to t.
                        let s = t(
                            Float(
                                rule.score(scaledDot: Double(t(t(acc) * scale)), batch: b, head: h, query: i, key: j)!))
                        scores[j] = s
                        m = max(m, s)
                    }
                    // A sink (gpt-oss's `torch.cat([QK, S])`) is one more column of the f32 softmax, then dropped.
                    let sink = options.sinks.map { t(Float($0[h])) }
                    if let sink { m = max(m, sink) }
                    guard m > -.infinity else { continue }
                    var sum: Float = sink.map { Float(PortableMath.exp(Double($0 - m))) } ?? 0
                    for j in 0..<x.keys where visible[j] {
                        scores[j] = Float(PortableMath.exp(Double(scores[j] - m)))
                        sum += scores[j]
                    }
                    lse[row] = Double(m + Float(PortableMath.log(Double(sum))))
                    var acc = [Float](repeating: 0, count: dv)
                    for j in 0..<x.keys where visible[j] {
                        if let dropout, !dropout.keep.data[row * x.keys + j] { continue }
                        let p = t(scores[j] / sum)
                        let vBase = ((b * x.kvHeads + kvh) * x.keys + j) * dv
                        for c in 0..<dv { acc[c] += p * v[vBase + c] }
                    }
                    for c in 0..<dv { output[row * dv + c] = Double(t(acc[c])) }
                }
            }
        }
        return Result(output: output, lse: lse)
    }
}
