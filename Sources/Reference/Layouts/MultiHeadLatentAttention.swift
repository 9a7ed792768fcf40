import RealModule

/// DeepSeek-V2/V3's multi-head latent attention (MLA), in its two forms, as attention problems the kernel and the
/// energy formulation solve exactly.
///
/// Per token the cache holds a latent c (L = 512 values) and one decoupled RoPE key k_pe (R = 64), shared by every
/// head. Head h has up-projections W_UK_h and W_UV_h (N x L and Dv x L, N = qk_nope 128, Dv = 128) and a query
/// [q_nope_h (N) | q_pe_h (R)].
/// - **Naive form** (training, prefill): k_h = [W_UK_h c | k_pe] (N + R = 192), v_h = W_UV_h c (Dv): multi-head
///   attention with d_qk = 192, d_v = 128.
/// - **Absorbed form** (decode; FlashMLA, FlashInfer's MLA): q_h = [W_UK_h^T q_nope_h (L) | q_pe_h (R)] (576) against
///   the cache rows [c | k_pe] (576) of a single KV head, values c (the first L = 512 of them); the latent output o_h
///   (512) becomes the head's output W_UV_h o_h. Since q_abs . c = q_nope . (W_UK c), both forms give the same scores
///   and outputs.
/// Both use the original model's softmax scale, `deepSeekV3Scale`, not 1/sqrt(576) (FlashMLA's default).
public enum MultiHeadLatentAttention {
    /// DeepSeek-V3's softmax scale: qk_head_dim^-0.5 (128 + 64 = 192) times mscale^2, mscale = 0.1 ln(40) + 1 (YaRN
    /// with rope factor 40, mscale 1), as its inference code computes it: about 0.1352338.
    public static var deepSeekV3Scale: Double {
        let mscale = 0.1 * PortableMath.log(40) + 1
        return mscale * mscale / Double(192).squareRoot()
    }

    /// The inputs of one MLA problem: queries split in their no-rope and rope parts, the latent cache and its rope
    /// keys, and each head's up-projections.
    public struct Inputs: Sendable {
        /// (batch, heads, seq_q, N): the queries' no-rope part.
        public var qNope: Tensor<Double>
        /// (batch, heads, seq_q, R): the queries' rope part (already rotated).
        public var qPe: Tensor<Double>
        /// (batch, seq_k, L): the latent cache.
        public var latent: Tensor<Double>
        /// (batch, seq_k, R): the decoupled rope keys (already rotated), shared by the heads.
        public var kPe: Tensor<Double>
        /// (heads, N, L): W_UK, the keys' up-projection per head.
        public var wUK: Tensor<Double>
        /// (heads, Dv, L): W_UV, the values' up-projection per head.
        public var wUV: Tensor<Double>

        /// Checks that the shapes fit together.
        public init(
            qNope: Tensor<Double>, qPe: Tensor<Double>, latent: Tensor<Double>, kPe: Tensor<Double>,
            wUK: Tensor<Double>, wUV: Tensor<Double>
        ) throws {
            guard qNope.rank == 4, qPe.rank == 4, latent.rank == 3, kPe.rank == 3, wUK.rank == 3, wUV.rank == 3,
                Array(qNope.shape.prefix(3)) == Array(qPe.shape.prefix(3)),
                Array(latent.shape.prefix(2)) == Array(kPe.shape.prefix(2)), latent.shape[0] == qNope.shape[0],
                wUK.shape[0] == qNope.shape[1], wUV.shape[0] == qNope.shape[1], wUK.shape[1] == qNope.shape[3],
                wUK.shape[2] == latent.shape[2], wUV.shape[2] == latent.shape[2], kPe.shape[2] == qPe.shape[3]
            else {
                throw ReferenceError.shape(
                    "MLA shapes do not fit: q_nope \(qNope.shape), q_pe \(qPe.shape), latent \(latent.shape), k_pe \(kPe.shape), w_uk \(wUK.shape), w_uv \(wUV.shape) (expected (B,H,Sq,N), (B,H,Sq,R), (B,Sk,L), (B,Sk,R), (H,N,L), (H,Dv,L))"
                )
            }
            (self.qNope, self.qPe, self.latent, self.kPe, self.wUK, self.wUV) = (qNope, qPe, latent, kPe, wUK, wUV)
        }

        var dims: (b: Int, h: Int, sq: Int, sk: Int, n: Int, r: Int, l: Int, dv: Int) {
            (
                qNope.shape[0], qNope.shape[1], qNope.shape[2], latent.shape[1], qNope.shape[3], qPe.shape[3],
                latent.shape[2], wUV.shape[1]
            )
        }
    }

    /// sum_c a[aBase + c] * b[bBase + c * bStride] over `count` terms, compensated.
    static func dot(_ a: [Double], _ aBase: Int, _ b: [Double], _ bBase: Int, stride: Int, count: Int) -> Double {
        var s = CompensatedSum()
        for c in 0..<count { s.add(a[aBase + c] * b[bBase + c * stride]) }
        return s.value
    }

    /// The naive form's multi-head problem: q = [q_nope | q_pe] (N + R), k_h = [W_UK_h c | k_pe], v_h = W_UV_h c, one
    /// KV head per query head; the projections in compensated f64.
    public static func naive(_ x: Inputs) throws -> AttentionInputs<Double> {
        let (b, h, sq, sk, n, r, l, dv) = x.dims
        var q = Tensor<Double>(shape: [b, h, sq, n + r], repeating: 0)
        var k = Tensor<Double>(shape: [b, h, sk, n + r], repeating: 0)
        var v = Tensor<Double>(shape: [b, h, sk, dv], repeating: 0)
        for bi in 0..<b {
            for hi in 0..<h {
                for i in 0..<sq {
                    let row = (bi * h + hi) * sq + i
                    for c in 0..<n { q.data[row * (n + r) + c] = x.qNope.data[row * n + c] }
                    for c in 0..<r { q.data[row * (n + r) + n + c] = x.qPe.data[row * r + c] }
                }
                for j in 0..<sk {
                    let token = bi * sk + j, out = (bi * h + hi) * sk + j
                    for c in 0..<n {
                        k.data[out * (n + r) + c] = dot(
                            x.wUK.data, (hi * n + c) * l, x.latent.data, token * l, stride: 1, count: l)
                    }
                    for c in 0..<r { k.data[out * (n + r) + n + c] = x.kPe.data[token * r + c] }
                    for c in 0..<dv {
                        v.data[out * dv + c] = dot(
                            x.wUV.data, (hi * dv + c) * l, x.latent.data, token * l, stride: 1, count: l)
                    }
                }
            }
        }
        return try AttentionInputs(q: q, k: k, v: v)
    }

    /// The absorbed form's problem: q_h = [W_UK_h^T q_nope_h | q_pe_h] (L + R), one KV head of rows [c | k_pe]
    /// (L + R) with values c (L).
    public static func absorbed(_ x: Inputs) throws -> AttentionInputs<Double> {
        let (b, h, sq, _, n, r, l, _) = x.dims
        var q = Tensor<Double>(shape: [b, h, sq, l + r], repeating: 0)
        for row in 0..<(b * h * sq) {
            let hi = (row / sq) % h
            for c in 0..<l {
                q.data[row * (l + r) + c] = dot(x.qNope.data, row * n, x.wUK.data, hi * n * l + c, stride: l, count: n)
            }
            for c in 0..<r { q.data[row * (l + r) + l + c] = x.qPe.data[row * r + c] }
        }
        let cache = try cacheRows(latent: x.latent, kPe: x.kPe)
        return try AttentionInputs(q: q, k: cache, v: latentValues(cache, latentDim: l))
    }

    /// The latent cache as one KV head of rows [c | k_pe]: (batch, 1, seq_k, L + R), FlashMLA's cache layout.
    public static func cacheRows(latent: Tensor<Double>, kPe: Tensor<Double>) throws -> Tensor<Double> {
        let (b, sk, l, r) = (latent.shape[0], latent.shape[1], latent.shape[2], kPe.shape[2])
        var out = Tensor<Double>(shape: [b, 1, sk, l + r], repeating: 0)
        for token in 0..<(b * sk) {
            for c in 0..<l { out.data[token * (l + r) + c] = latent.data[token * l + c] }
            for c in 0..<r { out.data[token * (l + r) + l + c] = kPe.data[token * r + c] }
        }
        return out
    }

    /// The values of the absorbed form: the first `latentDim` entries of each cache row.
    public static func latentValues(_ cache: Tensor<Double>, latentDim l: Int) throws -> Tensor<Double> {
        let width = cache.shape[3]
        guard l <= width else { throw ReferenceError.shape("latent dim \(l) exceeds the cache rows' \(width)") }
        let rows = cache.count / max(width, 1)
        var v = Tensor<Double>(
            shape: [cache.shape[0], cache.shape[1], cache.shape[2], l], repeating: 0)
        for t in 0..<rows { for c in 0..<l { v.data[t * l + c] = cache.data[t * width + c] } }
        return v
    }

    /// The heads' outputs from the absorbed form's latent outputs (batch, heads, seq_q, L): W_UV_h o_h (Dv).
    public static func project(latentOutput o: Tensor<Double>, wUV: Tensor<Double>) throws -> Tensor<Double> {
        let (b, h, sq, l) = (o.shape[0], o.shape[1], o.shape[2], o.shape[3])
        let dv = wUV.shape[1]
        guard wUV.shape == [h, dv, l] else {
            throw ReferenceError.shape("w_uv \(wUV.shape) does not fit latent outputs \(o.shape)")
        }
        var out = Tensor<Double>(shape: [b, h, sq, dv], repeating: 0)
        for row in 0..<(b * h * sq) {
            let hi = (row / sq) % h
            for c in 0..<dv {
                out.data[row * dv + c] = dot(wUV.data, (hi * dv + c) * l, o.data, row * l, stride: 1, count: l)
            }
        }
        return out
    }
}
