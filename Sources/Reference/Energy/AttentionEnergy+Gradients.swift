import RealModule

extension AttentionEnergy {
    /// The gradients of L = sum_i dO_i . O_i from the energy's derivatives, in plain compensated f64 loops (a second
    /// formulation of the backward, sharing nothing with the BLAS kernel but `ScoreRule`).
    ///
    /// O_i = dF_i/dzeta_i at zeta = 0, so L is the directional derivative d/de F_tot(e dO) at e = 0 and every
    /// gradient of L is a mixed second derivative of F, a Hessian-vector product of the cumulant generating function:
    ///   dV_a = d/de dF/dv_a = sum_i w_ia dO_i                     (w = softmax weights at zeta = 0)
    ///   dL/ds_ia = d/de dF_i/ds_ia = w_ia (dO_i . v_a - dO_i . O_i)  (the covariance of s and dO . v under w)
    /// and dQ, dK follow from s_ia = score(scale q_i . k_a) (softcap's tanh' included; ALiBi and masks are constant).
    /// `dO` has the output's shape (B, Hq, Sq, Dv). Rows that see no key contribute nothing.
    ///
    /// With `keys`, the weights stay those of all keys (the global LSE and D) but only the terms of keys in the range
    /// are summed: a key shard's share of dQ and its keys' dK, dV (B, Hkv, keys.count, D), as a shard computes them in
    /// the tree-parallel backward.
    ///
    /// With `dlse` (B, Hq, Sq), L also has the term sum_i dlse_i F_i (an upstream gradient of the LSE): dL/ds_ia gains
    /// w_ia dlse_i. With sinks, F_i includes them (their value is 0, so dO_i . v_sink = 0) and, over all keys (`keys`
    /// nil), `dsinks` holds dL/dz_h = sum_i w_i,sink (dlse_i - dO_i . O_i).
    public func lossGradients(dO: Tensor<Double>, keys: Range<Int>? = nil, dlse: Tensor<Double>? = nil) throws
        -> AttentionGradients<Double>
    {
        let (shares, dsinks) = try gradients(dO: dO, shards: [keys ?? 0..<inputs.keys], dlse: dlse)
        var result = shares[0]
        if keys == nil { result.dsinks = dsinks }
        return result
    }

    /// `lossGradients(dO:keys:dlse:)` for several key ranges at once (each row's weights are computed once): one
    /// gradient share per range, in order (the sinks' gradient belongs to no share).
    public func lossGradients(dO: Tensor<Double>, shards ranges: [Range<Int>], dlse: Tensor<Double>? = nil) throws
        -> [AttentionGradients<Double>]
    {
        try gradients(dO: dO, shards: ranges, dlse: dlse).shares
    }

    /// The shares of `lossGradients(dO:shards:dlse:)` and the sinks' gradient (nil without sinks).
    func gradients(dO: Tensor<Double>, shards ranges: [Range<Int>], dlse: Tensor<Double>?) throws -> (
        shares: [AttentionGradients<Double>], dsinks: Tensor<Double>?
    ) {
        let x = inputs, d = x.headDim, dv = x.valueDim
        let want = [x.batch, x.queryHeads, x.queries, dv]
        guard dO.shape == want else { throw ReferenceError.shape("dO must have shape \(want), got \(dO.shape)") }
        if let dlse, dlse.shape != Array(want.prefix(3)) {
            throw ReferenceError.shape("dlse must have shape \(Array(want.prefix(3))), got \(dlse.shape)")
        }
        let sinks = rule.options.sinks
        var dsinkSums = [CompensatedSum](repeating: CompensatedSum(), count: sinks == nil ? 0 : x.queryHeads)
        for range in ranges where range.lowerBound < 0 || range.upperBound > x.keys {
            throw ReferenceError.invalidOption("key range \(range) outside 0..<\(x.keys)")
        }
        // shardOf[j]: the first range holding key j (ranges may overlap only if the caller wants that; we take the first).
        var shardOf = [Int](repeating: -1, count: x.keys)
        for (s, range) in ranges.enumerated().reversed() { for j in range { shardOf[j] = s } }
        var dq = ranges.map { _ in [CompensatedSum](repeating: CompensatedSum(), count: x.q.count) }
        var dk = ranges.map { [CompensatedSum](repeating: CompensatedSum(), count: x.batch * x.kvHeads * $0.count * d) }
        var dvSums = ranges.map {
            [CompensatedSum](repeating: CompensatedSum(), count: x.batch * x.kvHeads * $0.count * dv)
        }
        for b in 0..<x.batch {
            for h in 0..<x.queryHeads {
                for i in 0..<x.queries {
                    let row = (b * x.queryHeads + h) * x.queries + i
                    let kvh = h / x.groupSize
                    let qBase = row * d
                    // Visible keys with their raw scaled dot t and final score s.
                    var terms: [(key: Int, t: Double, s: Double)] = []
                    for j in 0..<x.keys where rule.isVisible(batch: b, head: h, query: i, key: j) {
                        let kBase = ((b * x.kvHeads + kvh) * x.keys + j) * d
                        var dot = CompensatedSum()
                        for c in 0..<d { dot.add(x.q.data[qBase + c] * x.k.data[kBase + c]) }
                        let t = rule.scale * dot.value
                        guard let s = rule.score(scaledDot: t, batch: b, head: h, query: i, key: j) else { continue }
                        terms.append((j, t, s))
                    }
                    let f = AttentionEnergy.logSumExp(terms.map(\.s) + sinkTerms(head: h, keys: nil))
                    guard f != -.infinity else { continue }
                    let upstream = dlse?.data[row] ?? 0
                    let w = terms.map { PortableMath.exp($0.s - f) }
                    // dO_i . v_a for each visible key, and dO_i . O_i = sum_a w_a dO_i . v_a.
                    let dOv = terms.map { term -> Double in
                        let vBase = ((b * x.kvHeads + kvh) * x.keys + term.key) * dv
                        var acc = CompensatedSum()
                        for c in 0..<dv { acc.add(dO.data[row * dv + c] * x.v.data[vBase + c]) }
                        return acc.value
                    }
                    var mean = CompensatedSum()
                    for (n, value) in dOv.enumerated() { mean.add(w[n] * value) }
                    if let sinks { dsinkSums[h].add(PortableMath.exp(sinks[h] - f) * (upstream - mean.value)) }
                    for (m, term) in terms.enumerated() where shardOf[term.key] >= 0 {
                        let j = term.key, shard = shardOf[j], range = ranges[shard]
                        let kvRow = (b * x.kvHeads + kvh) * x.keys + j
                        let outRow = (b * x.kvHeads + kvh) * range.count + j - range.lowerBound
                        for c in 0..<dv { dvSums[shard][outRow * dv + c].add(w[m] * dO.data[row * dv + c]) }
                        var ds = w[m] * (dOv[m] - mean.value + upstream)
                        if let cap = rule.options.softcap {
                            let th = PortableMath.tanh(term.t / cap)
                            ds *= 1 - th * th
                        }
                        let g = rule.scale * ds
                        for c in 0..<d {
                            dq[shard][qBase + c].add(g * x.k.data[kvRow * d + c])
                            dk[shard][outRow * d + c].add(g * x.q.data[qBase + c])
                        }
                    }
                }
            }
        }
        let shares = try ranges.indices.map { s in
            let n = ranges[s].count
            return AttentionGradients(
                dq: try Tensor(shape: x.q.shape, data: dq[s].map(\.value)),
                dk: try Tensor(shape: [x.batch, x.kvHeads, n, d], data: dk[s].map(\.value)),
                dv: try Tensor(shape: [x.batch, x.kvHeads, n, dv], data: dvSums[s].map(\.value)))
        }
        return (shares, try sinks.map { _ in try Tensor(shape: [x.queryHeads], data: dsinkSums.map(\.value)) })
    }
}
