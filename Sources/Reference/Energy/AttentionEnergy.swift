import RealModule

/// The paper's energy function, per query row, in plain f64 loops (a second, independent formulation of attention):
///   F_i(zeta_i) = log sum_{a visible to i} exp(s_ia + zeta_i . v_a)
/// where s_ia is the final score (scale, softcap, ALiBi, masks). Its gradient at zeta = 0 is attention's output:
///   dF_i/dzeta_i = sum_a softmax_a(s_i + zeta_i . v) v_a.
/// F is a cumulant generating function; its Hessian is the covariance of v under the softmax weights.
/// Sums are compensated (Neumaier) and shifted by the row maximum, so values are accurate to a few ulps.
public struct AttentionEnergy: Sendable {
    /// Q, K and V in f64, (batch, heads, seq, dim).
    public let inputs: AttentionInputs<Double>
    /// The resolved score rule: which keys each row sees and how a dot product becomes its score.
    public let rule: ScoreRule

    /// Resolves `options` for the inputs' sizes; throws `ReferenceError.invalidOption` or `ReferenceError.shape` when
    /// they do not fit.
    public init(inputs: AttentionInputs<Double>, options: AttentionOptions = AttentionOptions()) throws {
        self.inputs = inputs
        self.rule = try ScoreRule(
            options: options, batch: inputs.batch, queryHeads: inputs.queryHeads,
            queries: inputs.queries, keys: inputs.keys, headDim: inputs.headDim)
    }

    /// Exponents s_ia + zeta_i . v_a of the visible keys of one row (within `keys`), with their key indices.
    func exponents(batch b: Int, head h: Int, query i: Int, zeta: ArraySlice<Double>?, keys: Range<Int>) -> [(
        key: Int, value: Double
    )] {
        let x = inputs, d = x.headDim, dv = x.valueDim
        let kvh = h / x.groupSize
        let qBase = ((b * x.queryHeads + h) * x.queries + i) * d
        var result: [(Int, Double)] = []
        for j in keys where rule.isVisible(batch: b, head: h, query: i, key: j) {
            let kBase = ((b * x.kvHeads + kvh) * x.keys + j) * d
            var dot = CompensatedSum()
            for c in 0..<d { dot.add(x.q.data[qBase + c] * x.k.data[kBase + c]) }
            guard var s = rule.score(scaledDot: rule.scale * dot.value, batch: b, head: h, query: i, key: j) else {
                continue
            }
            if let zeta {
                let vBase = ((b * x.kvHeads + kvh) * x.keys + j) * dv
                var zv = CompensatedSum()
                for c in 0..<dv { zv.add(zeta[zeta.startIndex + c] * x.v.data[vBase + c]) }
                s += zv.value
            }
            result.append((j, s))
        }
        return result
    }

    /// The sink's term of row energies of head `head` (`AttentionOptions.sinks`): [z_h] for the whole problem
    /// (`keys` nil), nothing over a key range (a shard's energy leaves the sink out; the merge adds it once).
    func sinkTerms(head: Int, keys: Range<Int>?) -> [Double] {
        guard keys == nil, let sinks = rule.options.sinks else { return [] }
        return [sinks[head]]
    }

    /// Row energies F_i (shape B, Hq, Sq) at source `zeta` (B, Hq, Sq, Dv; nil = 0), over `keys` (default all, with
    /// any sinks: F_i = log(exp(z_h) + sum_a exp(s_ia + zeta_i . v_a)), the sink a key whose value is 0).
    /// A row that sees no key (and has no sink) has F = -inf.
    public func value(zeta: Tensor<Double>? = nil, keys: Range<Int>? = nil) throws -> Tensor<Double> {
        try validate(zeta)
        let x = inputs
        var out = Tensor<Double>(shape: [x.batch, x.queryHeads, x.queries], repeating: -.infinity)
        forEachRow { b, h, i, row in
            let e = exponents(batch: b, head: h, query: i, zeta: zetaRow(zeta, row), keys: keys ?? 0..<x.keys)
            out.data[row] = AttentionEnergy.logSumExp(e.map(\.value) + sinkTerms(head: h, keys: keys))
        }
        return out
    }

    /// dF_i/dzeta_i for every row (B, Hq, Sq, Dv): the softmax-weighted mean of the values. Rows with no key give 0.
    public func gradient(zeta: Tensor<Double>? = nil, keys: Range<Int>? = nil) throws -> Tensor<Double> {
        try validate(zeta)
        let x = inputs, dv = x.valueDim
        var out = Tensor<Double>(shape: [x.batch, x.queryHeads, x.queries, dv], repeating: 0)
        forEachRow { b, h, i, row in
            let e = exponents(batch: b, head: h, query: i, zeta: zetaRow(zeta, row), keys: keys ?? 0..<x.keys)
            let f = AttentionEnergy.logSumExp(e.map(\.value) + sinkTerms(head: h, keys: keys))
            guard f != -.infinity else { return }
            let kvh = h / x.groupSize
            for c in 0..<dv {
                var acc = CompensatedSum()
                for (j, s) in e {
                    acc.add(PortableMath.exp(s - f) * x.v.data[((b * x.kvHeads + kvh) * x.keys + j) * dv + c])
                }
                out.data[row * dv + c] = acc.value
            }
        }
        return out
    }

    /// The partial attention (O, LSE) over `keys` at zeta = 0 in one pass: O = dF/dzeta, LSE = F (with the sinks
    /// when `keys` is nil).
    /// Deterministic (portable exp/log, compensated sums): the engine of the golden files.
    public func partial(keys: Range<Int>? = nil) throws -> AttentionPartial<Double> {
        let x = inputs, dv = x.valueDim
        var result = AttentionPartial<Double>.empty(
            batch: x.batch, heads: x.queryHeads, queries: x.queries, valueDim: dv)
        forEachRow { b, h, i, row in
            let e = exponents(batch: b, head: h, query: i, zeta: nil, keys: keys ?? 0..<x.keys)
            let f = AttentionEnergy.logSumExp(e.map(\.value) + sinkTerms(head: h, keys: keys))
            guard f != -.infinity else { return }
            result.lse.data[row] = f
            let kvh = h / x.groupSize
            let weights = e.map { PortableMath.exp($0.value - f) }
            for c in 0..<dv {
                var acc = CompensatedSum()
                for (n, (j, _)) in e.enumerated() {
                    acc.add(weights[n] * x.v.data[((b * x.kvHeads + kvh) * x.keys + j) * dv + c])
                }
                result.output.data[row * dv + c] = acc.value
            }
        }
        return result
    }

    /// F_tot = sum over rows that see at least one key of F_i.
    public func total(zeta: Tensor<Double>? = nil) throws -> Double {
        var sum = CompensatedSum()
        for f in try value(zeta: zeta).data where f != -.infinity { sum.add(f) }
        return sum.value
    }

    /// log sum exp of `values`, shifted by the maximum and compensated; -inf for an empty list.
    public static func logSumExp(_ values: [Double]) -> Double {
        guard let m = values.max(), m != -.infinity else { return values.contains(where: \.isNaN) ? .nan : -.infinity }
        if !m.isFinite { return m }
        var sum = CompensatedSum()
        for v in values { sum.add(PortableMath.exp(v - m)) }
        return m + PortableMath.log(sum.value)
    }

    private func validate(_ zeta: Tensor<Double>?) throws {
        guard let zeta else { return }
        let want = [inputs.batch, inputs.queryHeads, inputs.queries, inputs.valueDim]
        guard zeta.shape == want else { throw ReferenceError.shape("zeta must have shape \(want), got \(zeta.shape)") }
    }

    private func zetaRow(_ zeta: Tensor<Double>?, _ row: Int) -> ArraySlice<Double>? {
        zeta.map { $0.data[row * inputs.valueDim..<(row + 1) * inputs.valueDim] }
    }

    /// Calls `body(batch, head, query, flat row)` for every row, in C order.
    func forEachRow(_ body: (Int, Int, Int, Int) -> Void) {
        let x = inputs
        for b in 0..<x.batch {
            for h in 0..<x.queryHeads {
                for i in 0..<x.queries {
                    body(b, h, i, (b * x.queryHeads + h) * x.queries + i)
                }
            }
        }
    }
}
