extension GoldenCase {
    /// Dropout (`spec.dropoutP`, FlashAttention's `dropout_p`): seeded q, k, v rounded once to `dtype`, a keep mask
    /// `dropout_mask` (batch, query heads, seq_q, seq_k; bool, true keeps) drawn from its own stream (so q, k and v
    /// are the bytes of the same case without dropout), kept probabilities scaled by 1 / (1 - p). Goldens from
    /// `AttentionEnergy.partial(dropout:)`: out with the dropout, lse of the undropped scores; with `backward`, do and
    /// the f64 gradients (`AttentionEnergy.gradients(dO:dropout:)`). Tolerances from the naive pipeline with the same
    /// mask (`NaivePipeline.run(_:options:dtype:dropout:)` and its backward).
    static func dropout(_ spec: GoldenCaseSpec, dtype: DType, backward: Bool) throws -> GeneratedCase {
        guard let p = spec.dropoutP else { throw ReferenceError.invalidOption("not a dropout case") }
        let (b, hq, hkv, sq, sk, d, dv) = (
            spec.batch, spec.heads, spec.kvHeadCount, spec.seqQ, spec.seqK, spec.headDim, spec.valueDimension
        )
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        func quantised(_ shape: [Int], _ s: Double) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s).map { Rounding.to(dtype, $0) })
        }
        let inputs = try AttentionInputs(
            q: quantised([b, hq, sq, d], std), k: quantised([b, hkv, sk, d], std), v: quantised([b, hkv, sk, dv], 1))
        var maskStream = SeededGenerator(seed: (spec.seed ?? 0) ^ 0xD40_0D40)
        let drop = try AttentionDropout(
            p: p, keep: AttentionDropout.seededMask(shape: [b, hq, sq, sk], p: p, generator: &maskStream))
        let options = try spec.options(dtype: dtype)
        let energy = try AttentionEnergy(inputs: inputs, options: options)
        let golden = try energy.partial(dropout: drop)
        let naive = try NaivePipeline.run(inputs, options: options, dtype: dtype, dropout: drop)
        var tensors: [(name: String, data: TensorData)] = [
            ("q", try TensorData(inputs.q, dtype: dtype)), ("k", try TensorData(inputs.k, dtype: dtype)),
            ("v", try TensorData(inputs.v, dtype: dtype)),
            (
                "dropout_mask",
                try TensorData(values: drop.keep.data.map { $0 ? 1 : 0 }, shape: drop.keep.shape, dtype: .bool)
            ),
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)),
            ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        var extra: [(name: String, tolerance: GoldenTolerance)] = []
        if backward {
            let dO = try quantised([b, hq, sq, dv], 1)
            let grads = try energy.gradients(dO: dO, dropout: drop)
            let naiveGrads = try NaivePipeline.backward(inputs, dO: dO, options: options, dtype: dtype, dropout: drop)
            tensors.append(("do", try TensorData(dO, dtype: dtype)))
            for (name, exact, naive) in [
                ("dq", grads.dq, naiveGrads.dq), ("dk", grads.dk, naiveGrads.dk), ("dv", grads.dv, naiveGrads.dv),
            ] {
                tensors.append((name, try TensorData(exact, dtype: .f64)))
                tensors.append(("\(name)_f32", try TensorData(exact, dtype: .f32)))
                extra.append((name, GoldenTolerance.derive(golden: exact.data, naive: naive, dtype: dtype)))
            }
        }
        var metadata = [
            "dropout":
                "dropout_mask (batch, heads, seq_q, seq_k; true keeps) with p = \(p): out = (P * M / (1 - p)) V with P the softmax of the scores; lse is the log-sum-exp of the undropped scores, as FlashAttention returns it (its test-only S_dmask carries the same mask as the sign of its entries); the mask was drawn from its own seeded stream (uniform >= p keeps)",
            "dropout_p": "\(p)",
        ]
        if backward {
            metadata["backward"] =
                "do: upstream gradient, rounded once to \(dtype.rawValue); dq, dk, dv: f64 gradients of sum(do * out) with the dropout: dV = (P M / (1-p))^T dO, dP = M / (1-p) (dO V^T), dS = P (dP - rowsum(P dP)), dQ = scale dS K, dK = scale dS^T Q (compensated sums); *_f32 are them rounded once"
        }
        return GeneratedCase(
            tensors: tensors, metadata: metadata,
            outputTolerance: GoldenTolerance.derive(golden: golden.output.data, naive: naive.output, dtype: dtype),
            lseTolerance: GoldenTolerance.derive(golden: golden.lse.data, naive: naive.lse, dtype: .f32),
            extraTolerances: extra)
    }
}
