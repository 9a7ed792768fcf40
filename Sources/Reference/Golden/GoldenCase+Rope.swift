extension GoldenCase {
    /// A rope case's rotated inputs: q and k rotated at their positions (`GoldenCaseSpec.rotaryPositions`) in f64 and
    /// rounded once to the test dtype (as a kernel keeps them before its products), the naive pipeline's rotation
    /// (cos and sin rounded to the dtype, each product and sum rounded, as Hugging Face's `apply_rotary_pos_emb` runs
    /// in the dtype), and the tensors that describe the rotation.
    struct Rotation {
        let rope: RotaryEmbedding
        let queryPositions: [[Int]]
        let keyPositions: [[Int]]
        /// The attention inputs: rotated q and k (rounded to the dtype), v.
        let inputs: AttentionInputs<Double>
        /// The naive pipeline's rotated inputs.
        let naive: AttentionInputs<Double>
        /// q_rotated, k_rotated, q_positions, k_positions, rotary_cos, rotary_sin.
        let tensors: [(name: String, data: TensorData)]

        /// Takes gradients of the rotated q and k back to the unrotated inputs (the rotation's transpose).
        func unrotate(dq: Tensor<Double>, dk: Tensor<Double>) throws -> (dq: Tensor<Double>, dk: Tensor<Double>) {
            (
                try rope.rotate(dq, positions: queryPositions, inverse: true),
                try rope.rotate(dk, positions: keyPositions, inverse: true)
            )
        }
    }

    /// The rotation of `drawn` (unrotated q, k and v in the dtype) for `spec`, or nil without rope.
    static func rotation(_ spec: GoldenCaseSpec, dtype: DType, drawn: AttentionInputs<Double>) throws -> Rotation? {
        guard let rope = try spec.rotary() else { return nil }
        let positions = (0..<spec.batch).map { spec.rotaryPositions(batch: $0) }
        let (qp, kp) = (positions.map(\.queries), positions.map(\.keys))
        func rounded(_ t: Tensor<Double>) -> Tensor<Double> { t.map { Rounding.to(dtype, $0) } }
        let inputs = try AttentionInputs(
            q: rounded(try rope.rotate(drawn.q, positions: qp)), k: rounded(try rope.rotate(drawn.k, positions: kp)),
            v: drawn.v)
        let naive = try AttentionInputs(
            q: try naiveRotate(drawn.q, rope: rope, positions: qp, dtype: dtype),
            k: try naiveRotate(drawn.k, rope: rope, positions: kp, dtype: dtype), v: drawn.v)
        let i32 = { (xs: [[Int]]) in
            try TensorData(
                values: xs.joined().map(Double.init), shape: [xs.count, xs.first?.count ?? 0], dtype: .i32)
        }
        return Rotation(
            rope: rope, queryPositions: qp, keyPositions: kp, inputs: inputs, naive: naive,
            tensors: [
                ("q_rotated", try TensorData(inputs.q, dtype: dtype)),
                ("k_rotated", try TensorData(inputs.k, dtype: dtype)),
                ("q_positions", try i32(qp)), ("k_positions", try i32(kp)),
            ] + (try rotaryTables(rope, positions: qp + kp)))
    }

    /// `rotary_cos` and `rotary_sin` (position 0 ... the largest of `positions`, rotaryDim / 2) in f32, the tables
    /// flash_attn_with_kvcache takes.
    static func rotaryTables(_ rope: RotaryEmbedding, positions: [[Int]]) throws -> [(name: String, data: TensorData)] {
        let longest = positions.joined().max() ?? 0
        let tables = (0...longest).map { rope.cosSin(position: $0) }
        let shape = [longest + 1, rope.rotaryDim / 2]
        return [
            ("rotary_cos", try TensorData(values: tables.flatMap(\.cos), shape: shape, dtype: .f32)),
            ("rotary_sin", try TensorData(values: tables.flatMap(\.sin), shape: shape, dtype: .f32)),
        ]
    }

    /// x rotated as a framework does it in the dtype: cos and sin rounded to it, t(t(a cos) - t(b sin)) and
    /// t(t(b cos) + t(a sin)).
    static func naiveRotate(_ x: Tensor<Double>, rope: RotaryEmbedding, positions: [[Int]], dtype: DType) throws
        -> Tensor<Double>
    {
        func t(_ v: Double) -> Double { Rounding.to(dtype, Double(Float(v))) }
        let (b, h, s, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let half = rope.rotaryDim / 2
        var out = x
        for bi in 0..<b {
            for si in 0..<s {
                let (c, sn) = rope.cosSin(position: positions[bi][si])
                for hi in 0..<h {
                    let base = ((bi * h + hi) * s + si) * d
                    for i in 0..<half {
                        let (ia, ib) = rope.layout == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
                        let (a, bb, ct, st) = (x.data[base + ia], x.data[base + ib], t(c[i]), t(sn[i]))
                        out.data[base + ia] = t(t(a * ct) - t(bb * st))
                        out.data[base + ib] = t(t(bb * ct) + t(a * st))
                    }
                }
            }
        }
        return out
    }
}
