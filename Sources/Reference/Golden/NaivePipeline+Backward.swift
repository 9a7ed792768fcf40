extension NaivePipeline {
    /// The gradients of the naive same-precision pipeline, as PyTorch autograd gives them for `attention_ref` run in
    /// test dtype t without upcast: every matmul accumulates in f32 (sequentially) and rounds its result to t; the
    /// forward's P = t(softmax in f32) is recomputed; then
    ///   dV = t(P^T dO), dP = t(dO V^T), dS = t(P (dP - D + dlse)) with D = f32 sum_j P_ij dP_ij (softmax's backward;
    ///   dlse the LSE's upstream gradient, 0 without one),
    ///   through the softcap dS = t(dS (1 - tanh^2)), then dS = t(dS * scale), dQ = t(dS K), dK = t(dS^T Q);
    /// GQA's dK, dV are each head's t-rounded gradient summed over the group in f32, rounded to t.
    /// With dropout (`attention_ref`'s masked_fill and V scaled in t): dP = t(dO t(V / (1-p))^T) masked where the
    /// keep mask is false, dV = t(t(P_drop^T dO) / (1-p)), D and dS from the undropped P.
    /// Their errors against the f64 goldens are the baselines of the gradients' pass rule.
    public struct Gradients: Sendable {
        /// dQ, flat (batch, query heads, seq_q, head dim), rounded to the test dtype.
        public let dq: [Double]
        /// dK, flat (batch, KV heads, seq_k, head dim): the group's sum, rounded to the test dtype.
        public let dk: [Double]
        /// dV, flat (batch, KV heads, seq_k, value dim): the group's sum, rounded to the test dtype.
        public let dv: [Double]
        /// The sinks' gradient (query heads): each row's t(P_sink (dlse - D)) summed over the head's rows in f32,
        /// rounded to t; empty without sinks.
        public let dsinks: [Double]
    }

    /// The naive gradients for upstream gradient `dO` (batch, query heads, seq_q, value dim), rounded to `dtype`
    /// first; throws `ReferenceError.invalidOption` or `ReferenceError.shape` when `options` do not fit the inputs.
    public static func backward(
        _ x: AttentionInputs<Double>, dO: Tensor<Double>, options: AttentionOptions,
        dtype: DType, dlse: Tensor<Double>? = nil, dropout: AttentionDropout? = nil
    ) throws -> Gradients {
        let rule = try ScoreRule(
            options: options, batch: x.batch, queryHeads: x.queryHeads, queries: x.queries,
            keys: x.keys, headDim: x.headDim)
        func t(_ v: Float) -> Float { Float(Rounding.to(dtype, Double(v))) }
        let (d, dv, sk, g) = (x.headDim, x.valueDim, x.keys, x.groupSize)
        let q = x.q.data.map { Float($0) }, k = x.k.data.map { Float($0) }
        let scaling = Float(dropout?.scaling ?? 1)
        let v = x.v.data.map { dropout == nil ? Float($0) : t(Float($0) * scaling) }
        let gradOut = dO.data.map { t(Float($0)) }
        let scale = t(Float(rule.scale))
        var dq = [Double](repeating: 0, count: x.q.count)
        var dkSum = [Float](repeating: 0, count: x.k.count), dvSum = [Float](repeating: 0, count: x.v.count)
        // One query head's (Sk, D) gradients before rounding, accumulated over its queries in f32.
        var dkHead = [Float](repeating: 0, count: sk * d), dvHead = [Float](repeating: 0, count: sk * dv)
        var p = [Float](repeating: 0, count: sk), ds = [Float](repeating: 0, count: sk),
            raw = [Float](repeating: 0, count: sk)
        var visible = [Bool](repeating: false, count: sk)
        var dsinks = [Float](repeating: 0, count: options.sinks == nil ? 0 : x.queryHeads)
        for b in 0..<x.batch {
            for h in 0..<x.queryHeads {
                let kvh = h / g
                let kv0 = (b * x.kvHeads + kvh) * sk
                for e in dkHead.indices { dkHead[e] = 0 }
                for e in dvHead.indices { dvHead[e] = 0 }
                for i in 0..<x.queries {
                    let row = (b * x.queryHeads + h) * x.queries + i
                    var m = -Float.infinity
                    for j in 0..<sk {
                        visible[j] = rule.isVisible(batch: b, head: h, query: i, key: j)
                        guard visible[j] else { continue }
                        var acc: Float = 0
                        for c in 0..<d { acc += q[row * d + c] * k[(kv0 + j) * d + c] }
                        raw[j] = t(t(acc) * scale)
                        let s = t(Float(rule.score(scaledDot: Double(raw[j]), batch: b, head: h, query: i, key: j)!))
                        p[j] = s
                        m = max(m, s)
                    }
                    let sink = options.sinks.map { t(Float($0[h])) }
                    if let sink { m = max(m, sink) }
                    guard m > -.infinity else { continue }
                    var sum: Float = sink.map { Float(PortableMath.exp(Double($0 - m))) } ?? 0
                    for j in 0..<sk where visible[j] {
                        p[j] = Float(PortableMath.exp(Double(p[j] - m)))
                        sum += p[j]
                    }
                    // The LSE's upstream gradient, rounded to t as autograd would hold it.
                    let upstream = dlse.map { t(Float($0.data[row])) } ?? 0
                    var delta: Float = 0
                    for j in 0..<sk where visible[j] {
                        p[j] = t(p[j] / sum)
                        var acc: Float = 0
                        for c in 0..<dv { acc += gradOut[row * dv + c] * v[(kv0 + j) * dv + c] }
                        ds[j] = t(acc)  // dP
                        if let dropout, !dropout.keep.data[row * sk + j] { ds[j] = 0 }
                        delta += p[j] * ds[j]
                    }
                    if let sink {
                        let pSink = t(Float(PortableMath.exp(Double(sink - m))) / sum)
                        dsinks[h] += t(pSink * (upstream - delta))
                    }
                    var dqRow = [Float](repeating: 0, count: d)
                    for j in 0..<sk where visible[j] {
                        var grad = t(p[j] * (ds[j] - delta + upstream))
                        if let cap = options.softcap {
                            let th = PortableMath.tanh(Double(raw[j]) / cap)
                            grad = t(grad * Float(1 - th * th))
                        }
                        grad = t(grad * scale)
                        let kept = dropout.map { $0.keep.data[row * sk + j] } ?? true
                        if kept { for c in 0..<dv { dvHead[j * dv + c] += p[j] * gradOut[row * dv + c] } }
                        for c in 0..<d {
                            dkHead[j * d + c] += grad * q[row * d + c]
                            dqRow[c] += grad * k[(kv0 + j) * d + c]
                        }
                    }
                    for c in 0..<d { dq[row * d + c] = Double(t(dqRow[c])) }
                }
                for e in dkHead.indices { dkSum[kv0 * d + e] += t(dkHead[e]) }
                for e in dvHead.indices {
                    dvSum[kv0 * dv + e] += dropout == nil ? t(dvHead[e]) : t(t(dvHead[e]) * scaling)
                }
            }
        }
        return Gradients(
            dq: dq, dk: dkSum.map { Double(t($0)) }, dv: dvSum.map { Double(t($0)) },
            dsinks: dsinks.map { Double(t($0)) })
    }
}
