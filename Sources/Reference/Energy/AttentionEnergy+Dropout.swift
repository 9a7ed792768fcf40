/// Dropout on the attention probabilities as training kernels apply it (FlashAttention's `dropout_p`): a keep mask
/// M (batch, query heads, seq_q, seq_k), kept probabilities scaled by 1 / (1 - p):
///   O_i = sum_j P_ij M_ij / (1 - p) v_j,  LSE_i = log sum_j exp(s_ij) (the undropped scores: dropout acts after the
///   softmax, so the LSE, and the backward's recomputed P, are those of the plain scores).
/// The mask is an input: kernels' random streams differ, so a golden carries the mask its values were computed with,
/// as FlashAttention's tests read theirs back.
public struct AttentionDropout: Sendable {
    /// The dropout probability p in [0, 1).
    public let p: Double
    /// Keep mask, (batch, query heads, seq_q, seq_k): true keeps the probability.
    public let keep: Tensor<Bool>

    /// A dropout of probability `p` with mask `keep`; throws `ReferenceError.invalidOption` unless 0 <= p < 1.
    public init(p: Double, keep: Tensor<Bool>) throws {
        guard p >= 0, p < 1 else { throw ReferenceError.invalidOption("dropout p must be in [0, 1), got \(p)") }
        self.p = p
        self.keep = keep
    }

    /// A seeded keep mask: each entry kept with probability 1 - p (one uniform draw of `generator` per entry, in
    /// C order).
    public static func seededMask(shape: [Int], p: Double, generator: inout SeededGenerator) throws -> Tensor<Bool> {
        let n = shape.reduce(1, *)
        return try Tensor(shape: shape, data: (0..<n).map { _ in generator.uniform() >= p })
    }

    /// 1 / (1 - p).
    public var scaling: Double { 1 / (1 - p) }
}

extension AttentionEnergy {
    /// The attention output with `dropout` and the undropped LSE, in f64 (compensated sums, portable exp).
    public func partial(dropout: AttentionDropout) throws -> AttentionPartial<Double> {
        let x = inputs, dv = x.valueDim
        try checkMask(dropout)
        var result = AttentionPartial<Double>.empty(
            batch: x.batch, heads: x.queryHeads, queries: x.queries, valueDim: dv)
        forEachRow { b, h, i, row in
            let e = exponents(batch: b, head: h, query: i, zeta: nil, keys: 0..<x.keys)
            let f = AttentionEnergy.logSumExp(e.map(\.value))
            guard f != -.infinity else { return }
            result.lse.data[row] = f
            let kvh = h / x.groupSize
            let kept = e.filter { dropout.keep.data[row * x.keys + $0.key] }
            let weights = kept.map { PortableMath.exp($0.value - f) * dropout.scaling }
            for c in 0..<dv {
                var acc = CompensatedSum()
                for (n, (j, _)) in kept.enumerated() {
                    acc.add(weights[n] * x.v.data[((b * x.kvHeads + kvh) * x.keys + j) * dv + c])
                }
                result.output.data[row * dv + c] = acc.value
            }
        }
        return result
    }

    /// The gradients of sum(dO * O) for the output with `dropout`, in f64 (compensated sums): with P the undropped
    /// softmax and W = P M / (1 - p),
    ///   dV_j = sum_i W_ij dO_i,  dP_ij = M_ij / (1 - p) dO_i . v_j,  D_i = sum_j P_ij dP_ij = dO_i . O_i,
    ///   dS_ij = P_ij (dP_ij - D_i),  dQ_i = scale sum_j dS_ij k_j,  dK_j = scale sum_i dS_ij q_i
    /// (GQA's dK and dV summed over the group). Throws `ReferenceError.invalidOption` with a softcap (whose chain
    /// rule is not included here) or `ReferenceError.shape` for a mask of the wrong shape.
    public func gradients(dO: Tensor<Double>, dropout: AttentionDropout) throws -> (
        dq: Tensor<Double>, dk: Tensor<Double>, dv: Tensor<Double>
    ) {
        let x = inputs, (d, dv) = (x.headDim, x.valueDim)
        try checkMask(dropout)
        guard rule.options.softcap == nil else {
            throw ReferenceError.invalidOption("dropout gradients are for scores without a softcap")
        }
        guard dO.shape == [x.batch, x.queryHeads, x.queries, dv] else {
            throw ReferenceError.shape("dO has shape \(dO.shape), expected \([x.batch, x.queryHeads, x.queries, dv])")
        }
        var dq = [CompensatedSum](repeating: CompensatedSum(), count: x.q.count)
        var dk = [CompensatedSum](repeating: CompensatedSum(), count: x.k.count)
        var dvAcc = [CompensatedSum](repeating: CompensatedSum(), count: x.v.count)
        for b in 0..<x.batch {
            for h in 0..<x.queryHeads {
                let kv0 = (b * x.kvHeads + h / x.groupSize) * x.keys
                for i in 0..<x.queries {
                    let row = (b * x.queryHeads + h) * x.queries + i
                    let e = exponents(batch: b, head: h, query: i, zeta: nil, keys: 0..<x.keys)
                    let f = AttentionEnergy.logSumExp(e.map(\.value))
                    guard f != -.infinity else { continue }
                    let p = e.map { PortableMath.exp($0.value - f) }
                    let dP = e.map { (j, _) -> Double in
                        guard dropout.keep.data[row * x.keys + j] else { return 0 }
                        var dot = CompensatedSum()
                        for c in 0..<dv { dot.add(dO.data[row * dv + c] * x.v.data[(kv0 + j) * dv + c]) }
                        return dot.value * dropout.scaling
                    }
                    var delta = CompensatedSum()
                    for n in p.indices { delta.add(p[n] * dP[n]) }
                    for (n, (j, _)) in e.enumerated() {
                        let ds = p[n] * (dP[n] - delta.value) * rule.scale
                        for c in 0..<d {
                            dq[row * d + c].add(ds * x.k.data[(kv0 + j) * d + c])
                            dk[(kv0 + j) * d + c].add(ds * x.q.data[row * d + c])
                        }
                        guard dropout.keep.data[row * x.keys + j] else { continue }
                        let w = p[n] * dropout.scaling
                        for c in 0..<dv { dvAcc[(kv0 + j) * dv + c].add(w * dO.data[row * dv + c]) }
                    }
                }
            }
        }
        return (
            try Tensor(shape: x.q.shape, data: dq.map(\.value)), try Tensor(shape: x.k.shape, data: dk.map(\.value)),
            try Tensor(shape: x.v.shape, data: dvAcc.map(\.value))
        )
    }

    private func checkMask(_ dropout: AttentionDropout) throws {
        let x = inputs
        let shape = [x.batch, x.queryHeads, x.queries, x.keys]
        guard dropout.keep.shape == shape else {
            throw ReferenceError.shape("dropout mask has shape \(dropout.keep.shape), expected \(shape)")
        }
    }
}
