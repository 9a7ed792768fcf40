extension GoldenCase {
    /// MLA's naive form (`MultiHeadLatentAttention`): seeded q_nope, q_pe, latent cache c, rope keys k_pe (std) and
    /// up-projections W_UK, W_UV (std / sqrt(L), so the projected keys and values have unit size), each rounded once to
    /// `dtype`. The goldens are exact attention of the f64 projections; the absorbed form's query and latent output are
    /// stored too (`q_absorbed`, `out_latent`, f64), so one file tests both forms of a kernel. The tolerances come from
    /// the naive pipeline of a framework that projects first: each projection accumulated in f32 and rounded to
    /// `dtype`, then the naive same-precision attention.
    ///
    /// The per-head `q`, `k`, `v` a framework that projects first hands its kernel (the pipeline's, in `dtype`) are
    /// stored too. With `backward`: the upstream gradient `do` (drawn after every input), the f64 gradients of the
    /// exact per-head q, k, v (`dq`, `dk`, `dv`, what a FlashAttention 3 backward with d_qk 192, d_v 128 returns) and
    /// of the latent inputs through the projections (`MultiHeadLatentAttention.gradients`: `dq_nope`, `dq_pe`,
    /// `dc_kv`, `dk_pe`, `dw_uk`, `dw_uv`), with tolerances from the naive pipeline's backward and the same chain
    /// accumulated in f32 and rounded to `dtype`.
    static func mlaNaive(_ spec: GoldenCaseSpec, dtype: DType, backward: Bool = false) throws -> GeneratedCase {
        let r = spec.ropeDim ?? 64, l = spec.latentDim ?? 512
        let (b, h, sq, sk, n, dv) = (
            spec.batch, spec.heads, spec.seqQ, spec.seqK, spec.headDim - r, spec.valueDimension
        )
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        func quantised(_ shape: [Int], _ s: Double) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s).map { Rounding.to(dtype, $0) })
        }
        let x = try MultiHeadLatentAttention.Inputs(
            qNope: quantised([b, h, sq, n], std), qPe: quantised([b, h, sq, r], std),
            latent: quantised([b, sk, l], 1), kPe: quantised([b, sk, r], std),
            wUK: quantised([h, n, l], std / Double(l).squareRoot()),
            wUV: quantised([h, dv, l], 1 / Double(l).squareRoot()))
        let options = try spec.options(dtype: dtype)
        let naive = try MultiHeadLatentAttention.naive(x)
        let golden = try AttentionEnergy(inputs: naive, options: options).partial()
        let absorbed = try MultiHeadLatentAttention.absorbed(x)
        let latent = try AttentionEnergy(inputs: absorbed, options: options).partial()

        // The naive pipeline: each projection accumulated in f32 (sequentially) and rounded to the dtype; the rope
        // parts and the queries are the stored values.
        func f32Dot(_ w: [Double], _ wBase: Int, token: Int) -> Double {
            var acc: Float = 0
            for a in 0..<l { acc += Float(w[wBase + a]) * Float(x.latent.data[token * l + a]) }
            return Rounding.to(dtype, Double(acc))
        }
        var (kT, vT) = (naive.k, naive.v)
        for bi in 0..<b {
            for hi in 0..<h {
                for j in 0..<sk {
                    let token = bi * sk + j, row = (bi * h + hi) * sk + j
                    for e in 0..<n { kT.data[row * (n + r) + e] = f32Dot(x.wUK.data, (hi * n + e) * l, token: token) }
                    for e in 0..<dv { vT.data[row * dv + e] = f32Dot(x.wUV.data, (hi * dv + e) * l, token: token) }
                }
            }
        }
        let pipeline = try NaivePipeline.run(
            try AttentionInputs(q: naive.q, k: kT, v: vT), options: options, dtype: dtype)
        let scale = options.scale ?? 0
        var gradientTensors: [(name: String, data: TensorData)] = []
        var gradientTolerances: [(name: String, tolerance: GoldenTolerance)] = []
        if backward {
            let dO = try quantised([b, h, sq, dv], 1)
            let grads = try AttentionEnergy(inputs: naive, options: options).lossGradients(dO: dO)
            let chain = try MultiHeadLatentAttention.gradients(x, dq: grads.dq, dk: grads.dk, dv: grads.dv)
            let pipelineGrads = try NaivePipeline.backward(
                try AttentionInputs(q: naive.q, k: kT, v: vT), dO: dO, options: options, dtype: dtype)
            let naiveChain = try MultiHeadLatentAttention.gradients(
                x, dq: Tensor(shape: grads.dq.shape, data: pipelineGrads.dq),
                dk: Tensor(shape: grads.dk.shape, data: pipelineGrads.dk),
                dv: Tensor(shape: grads.dv.shape, data: pipelineGrads.dv), accumulator: Float32Accumulator.self
            ) { Rounding.to(dtype, $0) }
            gradientTensors.append(("do", try TensorData(dO, dtype: dtype)))
            for (name, golden, naive) in [
                ("dq", grads.dq, pipelineGrads.dq), ("dk", grads.dk, pipelineGrads.dk),
                ("dv", grads.dv, pipelineGrads.dv), ("dq_nope", chain.dqNope, naiveChain.dqNope.data),
                ("dq_pe", chain.dqPe, naiveChain.dqPe.data), ("dc_kv", chain.dLatent, naiveChain.dLatent.data),
                ("dk_pe", chain.dkPe, naiveChain.dkPe.data), ("dw_uk", chain.dwUK, naiveChain.dwUK.data),
                ("dw_uv", chain.dwUV, naiveChain.dwUV.data),
            ] {
                gradientTensors.append((name, try TensorData(golden, dtype: .f64)))
                gradientTensors.append(("\(name)_f32", try TensorData(golden, dtype: .f32)))
                gradientTolerances.append(
                    (name, GoldenTolerance.derive(golden: golden.data, naive: naive, dtype: dtype)))
            }
        }
        var metadata = [
            "mla":
                "naive form (DeepSeek-V3 prefill/training): per head k = [w_uk[h] @ c_kv | k_pe] (\(n)+\(r)), v = w_uv[h] @ c_kv (\(dv)), q = [q_nope | q_pe]; out (B,H,Sq,\(dv)) and lse are exact attention of the f64 projections. Absorbed form of the same problem: q_absorbed = [w_uk[h]^T q_nope | q_pe] (\(l + r)) against one latent head [c_kv | k_pe] with values c_kv, latent output out_latent (\(l)), out = w_uv[h] @ out_latent; lse is the same. Scale \(scale) (DeepSeek-V3's 192^-0.5 * mscale^2 unless the case gives one); tolerances from projections accumulated in f32 and rounded to \(dtype.rawValue), then the naive same-precision attention. q, k, v are those projections in \(dtype.rawValue), what a framework that projects first hands its kernel (B,H,S,\(n + r)/\(dv), one KV head per query head)",
            "mla_layout":
                "q_nope (B,H,Sq,\(n)), q_pe (B,H,Sq,\(r)), c_kv (B,Sk,\(l)), k_pe (B,Sk,\(r)), w_uk (H,\(n),\(l)), w_uv (H,\(dv),\(l))",
        ]
        if backward {
            metadata["backward"] =
                "do: upstream gradient, rounded once to \(dtype.rawValue); dq, dk, dv: f64 gradients of sum(do * out) with respect to the exact per-head q (B,H,Sq,\(n + r)), k (B,H,Sk,\(n + r)) and v (B,H,Sk,\(dv)); dq_nope, dq_pe, dc_kv, dk_pe, dw_uk, dw_uv: the gradients of the latent inputs through the projections (dk_pe sums the heads: the rope key is shared); *_f32 are them rounded once"
        }
        return GeneratedCase(
            tensors: [
                ("q_nope", try TensorData(x.qNope, dtype: dtype)), ("q_pe", try TensorData(x.qPe, dtype: dtype)),
                ("c_kv", try TensorData(x.latent, dtype: dtype)), ("k_pe", try TensorData(x.kPe, dtype: dtype)),
                ("w_uk", try TensorData(x.wUK, dtype: dtype)), ("w_uv", try TensorData(x.wUV, dtype: dtype)),
                ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
                ("out_f32", try TensorData(golden.output, dtype: .f32)),
                ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
                ("q_absorbed", try TensorData(absorbed.q, dtype: .f64)),
                ("out_latent", try TensorData(latent.output, dtype: .f64)),
                ("q", try TensorData(naive.q, dtype: dtype)), ("k", try TensorData(kT, dtype: dtype)),
                ("v", try TensorData(vT, dtype: dtype)),
            ] + gradientTensors, metadata: metadata,
            outputTolerance: GoldenTolerance.derive(golden: golden.output.data, naive: pipeline.output, dtype: dtype),
            lseTolerance: GoldenTolerance.derive(golden: golden.lse.data, naive: pipeline.lse, dtype: .f32),
            extraTolerances: gradientTolerances)
    }
}
