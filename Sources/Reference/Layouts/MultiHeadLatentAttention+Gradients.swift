extension MultiHeadLatentAttention {
    /// The gradients of the naive form's inputs (DeepSeek-V3 training): the chain rule through the projections of
    /// `naive(_:)`, from the gradients of the per-head q, k and v that an attention backward gives.
    public struct Gradients: Sendable {
        /// d q_nope (batch, heads, seq_q, N): dq's first N features.
        public var dqNope: Tensor<Double>
        /// d q_pe (batch, heads, seq_q, R): dq's last R features.
        public var dqPe: Tensor<Double>
        /// d c (batch, seq_k, L): sum over heads of W_UK_h^T dk_nope_h + W_UV_h^T dv_h.
        public var dLatent: Tensor<Double>
        /// d k_pe (batch, seq_k, R): the rope key is shared, so its gradient sums dk's last R features over heads.
        public var dkPe: Tensor<Double>
        /// d W_UK (heads, N, L): sum over batch and keys of dk_nope_h c^T.
        public var dwUK: Tensor<Double>
        /// d W_UV (heads, Dv, L): sum over batch and keys of dv_h c^T.
        public var dwUV: Tensor<Double>
    }

    /// The naive form's input gradients from the per-head `dq` (batch, heads, seq_q, N + R), `dk` (batch, heads,
    /// seq_k, N + R) and `dv` (batch, heads, seq_k, Dv), every sum compensated in f64.
    public static func gradients(
        _ x: Inputs, dq: Tensor<Double>, dk: Tensor<Double>, dv: Tensor<Double>
    ) throws -> Gradients {
        try gradients(x, dq: dq, dk: dk, dv: dv, accumulator: CompensatedSum.self) { $0 }
    }

    /// The same chain with each gradient entry's products added by `A` and finished by `finish` (a framework's f32
    /// accumulation, rounded to its dtype, for the golden tolerances' naive pipeline).
    static func gradients<A: ChainAccumulator>(
        _ x: Inputs, dq: Tensor<Double>, dk: Tensor<Double>, dv: Tensor<Double>, accumulator _: A.Type,
        finish: (Double) -> Double
    ) throws -> Gradients {
        let (b, h, sq, sk, n, r, l, dvDim) = x.dims
        guard dq.shape == [b, h, sq, n + r], dk.shape == [b, h, sk, n + r], dv.shape == [b, h, sk, dvDim] else {
            throw ReferenceError.shape(
                "MLA gradients dq \(dq.shape), dk \(dk.shape), dv \(dv.shape) do not fit the naive form's q \([b, h, sq, n + r]), k \([b, h, sk, n + r]), v \([b, h, sk, dvDim])"
            )
        }
        var dqNope = Tensor<Double>(shape: [b, h, sq, n], repeating: 0)
        var dqPe = Tensor<Double>(shape: [b, h, sq, r], repeating: 0)
        for row in 0..<(b * h * sq) {
            for c in 0..<n { dqNope.data[row * n + c] = dq.data[row * (n + r) + c] }
            for c in 0..<r { dqPe.data[row * r + c] = dq.data[row * (n + r) + n + c] }
        }
        var dLatent = Tensor<Double>(shape: [b, sk, l], repeating: 0)
        var dkPe = Tensor<Double>(shape: [b, sk, r], repeating: 0)
        let (dkData, dvData, wUK, wUV, latent) = (dk.data, dv.data, x.wUK.data, x.wUV.data, x.latent.data)
        for bi in 0..<b {
            for j in 0..<sk {
                let token = bi * sk + j
                for c in 0..<r {
                    var s = A()
                    for hi in 0..<h { s.add(dkData[((bi * h + hi) * sk + j) * (n + r) + n + c]) }
                    dkPe.data[token * r + c] = finish(s.value)
                }
                for a in 0..<l {
                    var s = A()
                    for hi in 0..<h {
                        let (kRow, vRow) = (((bi * h + hi) * sk + j) * (n + r), ((bi * h + hi) * sk + j) * dvDim)
                        for e in 0..<n { s.add(dkData[kRow + e] * wUK[(hi * n + e) * l + a]) }
                        for e in 0..<dvDim { s.add(dvData[vRow + e] * wUV[(hi * dvDim + e) * l + a]) }
                    }
                    dLatent.data[token * l + a] = finish(s.value)
                }
            }
        }
        // dW[h, e, a] = sum over (batch, key) of d[b, h, j, e] * c[b, j, a], for W_UK (dk's first N) and W_UV (dv).
        func weights(_ d: [Double], width: Int, count: Int) -> Tensor<Double> {
            var w = Tensor<Double>(shape: [h, count, l], repeating: 0)
            for hi in 0..<h {
                for e in 0..<count {
                    for a in 0..<l {
                        var s = A()
                        for bi in 0..<b {
                            for j in 0..<sk {
                                s.add(d[((bi * h + hi) * sk + j) * width + e] * latent[(bi * sk + j) * l + a])
                            }
                        }
                        w.data[(hi * count + e) * l + a] = finish(s.value)
                    }
                }
            }
            return w
        }
        return Gradients(
            dqNope: dqNope, dqPe: dqPe, dLatent: dLatent, dkPe: dkPe, dwUK: weights(dkData, width: n + r, count: n),
            dwUV: weights(dvData, width: dvDim, count: dvDim))
    }
}

/// How the MLA chain rule adds its products: compensated f64 (`CompensatedSum`, the golden) or a framework's f32
/// accumulation (`Float32Accumulator`, the tolerances' naive pipeline).
protocol ChainAccumulator {
    init()
    mutating func add(_ x: Double)
    var value: Double { get }
}

extension CompensatedSum: ChainAccumulator {}

/// Products rounded to f32 and added in f32, in order.
struct Float32Accumulator: ChainAccumulator {
    private var sum: Float = 0
    init() {}
    mutating func add(_ x: Double) { sum += Float(x) }
    var value: Double { Double(sum) }
}
