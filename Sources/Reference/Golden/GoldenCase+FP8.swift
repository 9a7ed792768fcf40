extension GoldenCase {
    /// FlashAttention 3's FP8 forward (`flash_attn_func(q, k, v, q_descale=, k_descale=, v_descale=)`): q, k and v
    /// stored in an FP8 format (`spec.fp8`) with f32 descale factors of shape (batch, kv_heads), one value for the
    /// whole tensor (`descale: tensor`) or one per (batch, KV head) (`descale: head`, the default); the values
    /// attended are fp8 x descale, exact in f64, and the golden is attention over them. Each descale is f32(amax /
    /// largest) of its group's seeded normals, and the stored code is the saturating round of x / descale (kernels
    /// clamp before they cast); `q_unquantised` etc. keep x / descale in f64 so a reader can check the rounding.
    /// Tolerances come from the naive FP8 pipeline (`NaivePipeline.fp8`) in two variants: P rounded to e4m3fn before
    /// P.V as FlashAttention 3 does (`p-fp8`, the manifest's default) and P kept in the test dtype (`p-dtype`).
    ///
    /// With `spec.fp8Edges`, q's first values are instead every code of the format, the midpoints between
    /// neighbours and the values around them, the overflow thresholds and the subnormal edges (q_descale 1), and the
    /// file adds `q_cast`, the same values through ml_dtypes' and PyTorch's cast (NaN or infinity on overflow).
    static func fp8(_ spec: GoldenCaseSpec, dtype: DType) throws -> GeneratedCase {
        guard let format = spec.float8Format else { throw ReferenceError.invalidOption("not an fp8 case") }
        let (b, hq, hkv, sq, sk, d, dv) = (
            spec.batch, spec.heads, spec.kvHeadCount, spec.seqQ, spec.seqK, spec.headDim, spec.valueDimension
        )
        let perHead = (spec.descale ?? "head") == "head"
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        // Draws the tensor, then per group (the tensor, or each (batch, KV head)) its descale and its codes.
        func quantised(_ shape: [Int], _ s: Double, edges: [Double]? = nil) throws -> (
            codes: Tensor<Double>, unquantised: Tensor<Double>, descale: [Double]
        ) {
            var x = g.normals(shape.reduce(1, *), std: s)
            let perGroup = x.count / (b * hkv)  // (batch, head) of q spans its group's query heads
            for (i, e) in (edges ?? []).enumerated() where i < x.count { x[i] = e }
            let q = GoldenCase.quantise(
                x, groups: edges != nil || !perHead ? 1 : b * hkv, format: format, unit: edges != nil
            ) { $0 / perGroup }
            let descale = (0..<(b * hkv)).map { q.scale[q.scale.count == 1 ? 0 : $0] }
            return (try Tensor(shape: shape, data: q.codes), try Tensor(shape: shape, data: q.unquantised), descale)
        }
        let edges = spec.fp8Edges == true ? Self.float8Edges(format) : nil
        let q = try quantised([b, hq, sq, d], std, edges: edges)
        let k = try quantised([b, hkv, sk, d], std)
        let v = try quantised([b, hkv, sk, dv], 1)
        func descaled(_ t: (codes: Tensor<Double>, unquantised: Tensor<Double>, descale: [Double])) throws
            -> Tensor<Double>
        {
            let perGroup = t.codes.count / (b * hkv)
            return try Tensor(
                shape: t.codes.shape, data: t.codes.data.indices.map { t.codes.data[$0] * t.descale[$0 / perGroup] })
        }
        let inputs = try AttentionInputs(q: descaled(q), k: descaled(k), v: descaled(v))
        let options = try spec.options(dtype: dtype)
        let golden = try AttentionEnergy(inputs: inputs, options: options).partial()
        let codes = try AttentionInputs(q: q.codes, k: k.codes, v: v.codes)
        let descales = (q: q.descale, k: k.descale, v: v.descale)
        let viaFP8 = try NaivePipeline.fp8(codes, descale: descales, options: options, dtype: dtype, p: .fp8)
        let viaDtype = try NaivePipeline.fp8(codes, descale: descales, options: options, dtype: dtype, p: .dtype)
        let outFP8 = GoldenTolerance.derive(golden: golden.output.data, naive: viaFP8.output, dtype: dtype)
        let outDtype = GoldenTolerance.derive(golden: golden.output.data, naive: viaDtype.output, dtype: dtype)
        let lse = GoldenTolerance.derive(golden: golden.lse.data, naive: viaFP8.lse, dtype: .f32)
        let f8 = format.dtype
        let descaleShape = [b, hkv]
        var tensors: [(name: String, data: TensorData)] = [
            ("q", try TensorData(q.codes, dtype: f8)), ("k", try TensorData(k.codes, dtype: f8)),
            ("v", try TensorData(v.codes, dtype: f8)),
            ("q_descale", try TensorData(values: q.descale, shape: descaleShape, dtype: .f32)),
            ("k_descale", try TensorData(values: k.descale, shape: descaleShape, dtype: .f32)),
            ("v_descale", try TensorData(values: v.descale, shape: descaleShape, dtype: .f32)),
            ("q_unquantised", try TensorData(q.unquantised, dtype: .f64)),
            ("k_unquantised", try TensorData(k.unquantised, dtype: .f64)),
            ("v_unquantised", try TensorData(v.unquantised, dtype: .f64)),
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)),
            ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        if edges != nil {
            let cast = q.unquantised.data.map { Rounding.toFloat8($0, format, overflow: .cast) }
            tensors.append(("q_cast", try TensorData(values: cast, shape: q.codes.shape, dtype: f8)))
        }
        var metadata: [String: String] = [
            "input_dtype": f8.rawValue,
            "inputs":
                "q, k, v in float8_\(format.rawValue) (ml_dtypes, PyTorch; safetensors \(f8.safetensorsName)) with FlashAttention 3's descale factors q_descale, k_descale, v_descale (f32, (batch, kv_heads), \(perHead ? "one per (batch, KV head)" : "one for the whole tensor, repeated")); the values attended are fp8 x descale, exact in f64. Quantisation: descale = f32(amax / \(format.largest)) of the group's seeded normals x (SeededGenerator), code = round to nearest even of clamp(x / descale, -\(format.largest), \(format.largest)) (saturating, as kernels quantise); *_unquantised hold x / descale in f64"
                + (edges != nil
                    ? "; q's first \(edges!.count) values are the format's edge values with q_descale 1 (every code, the midpoints between neighbours and the doubles next to them, the overflow thresholds, the subnormal edges), and q_cast is them through ml_dtypes' astype / PyTorch's .to() (e4m3fn: NaN beyond 464 and for infinities; e5m2: infinity beyond 61440)"
                    : ""),
            "golden":
                "f64 attention over fp8 x descale: compensated sums, portable exp/log; out_f32/lse_f32 are it rounded once; a kernel returns out in \(dtype.rawValue)",
            "tolerance.out.variant": ToleranceVariant.pFP8.rawValue,
            "tolerance.variants":
                "p-fp8: the naive FP8 pipeline with P = exp(s - m) rounded to float8_e4m3fn before P.V (FlashAttention 3), the default; p-dtype: the same pipeline with P kept in \(dtype.rawValue). Both: S accumulated in f32 from the codes, times q_descale * k_descale * scale in f32, softmax in f32, P.V accumulated in f32 and times v_descale / rowsum, out rounded to \(dtype.rawValue), lse in f32. Pick one with `treeattn check --tolerance-variant` or the results' metadata p_rounding (fp8, dtype)",
            "tolerance.out.p-dtype.atol": "\(outDtype.atol)",
            "tolerance.out.p-dtype.naive_max_abs_error": "\(outDtype.naiveMaxAbsError)",
            "tolerance.out.p-dtype.floor": "\(outDtype.floor)",
        ]
        metadata["fp8_descale"] = perHead ? "head" : "tensor"
        return GeneratedCase(
            tensors: tensors, metadata: metadata, outputTolerance: outFP8, lseTolerance: lse,
            outputVariants: [
                (ToleranceVariant.pFP8.rawValue, outFP8), (ToleranceVariant.pDtype.rawValue, outDtype),
            ])
    }

    /// Quantises `x` as kernels do, per group (`groupOf` of an element's index, used when there are several groups):
    /// scale = f32(amax / largest) of the group's values (1 for a zero group, or every group with `unit`), code = the
    /// saturating round of x / scale. Returns the codes, x / scale and the scales.
    static func quantise(
        _ x: [Double], groups: Int, format: Float8Format, unit: Bool = false, groupOf: (Int) -> Int
    ) -> (codes: [Double], unquantised: [Double], scale: [Double]) {
        let group = x.indices.map { groups == 1 ? 0 : groupOf($0) }
        var amax = [Double](repeating: 0, count: groups)
        for i in x.indices { amax[group[i]] = max(amax[group[i]], abs(x[i])) }
        let scale = amax.map { unit || $0 == 0 ? 1 : Double(Float($0 / format.largest)) }
        let unquantised = x.indices.map { x[$0] / scale[group[$0]] }
        return (unquantised.map { Rounding.toFloat8($0, format, overflow: .saturate) }, unquantised, scale)
    }

    /// The values around which a format's rounding can go wrong, positive and negative: every finite code, the
    /// midpoint between each pair of neighbours and the doubles on either side of it, the values around the
    /// overflow threshold (the tie between the largest value and the next power-of-two step, and its neighbours),
    /// half the smallest subnormal and its neighbours, and infinities.
    static func float8Edges(_ format: Float8Format) -> [Double] {
        let finite = (0..<128).map { Rounding.float8Value(UInt8($0), format) }.filter(\.isFinite)
        var positive: [Double] = finite
        for (a, c) in zip(finite, finite.dropFirst()) {
            let mid = (a + c) / 2
            positive += [mid.nextDown, mid, mid.nextUp]
        }
        // Above the largest finite value: the next step would be largest + quantum; the tie is half of it.
        let quantum = Double(sign: .plus, exponent: Int(format.largest.exponent) - format.mantissaBits, significand: 1)
        let tie = format.largest + quantum / 2
        positive += [tie.nextDown, tie, tie.nextUp, format.largest + quantum, format.largest * 2, .infinity]
        let tiny = Rounding.float8Value(1, format) / 2
        positive += [tiny.nextDown, tiny, tiny.nextUp]
        return positive.flatMap { [$0, -$0] }
    }
}

extension NaivePipeline {
    /// Where the naive FP8 pipeline rounds P before P.V.
    public enum PRounding: String, CaseIterable, Sendable {
        /// P = exp(s - m) rounded to float8_e4m3fn (FlashAttention 3's FP8 forward).
        case fp8 = "p-fp8"
        /// P kept in the test dtype.
        case dtype = "p-dtype"
    }

    /// The naive FP8 attention a kernel engineer would emulate (FlashAttention 3's FP8 forward without its tiling):
    /// the codes of q, k and v (`x`, f64 values of FP8 codes) and their descales (per (batch, KV head)); S = f32
    /// accumulation of q.k, times q_descale * k_descale * scale in f32, softcap and biases in f32; softmax in f32 with
    /// P = exp(s - m) rounded per `p`; O = f32 accumulation of P.v, times v_descale / rowsum, rounded to `dtype`;
    /// LSE in f32. Pure IEEE arithmetic: the same bits everywhere.
    public static func fp8(
        _ x: AttentionInputs<Double>, descale: (q: [Double], k: [Double], v: [Double]), options: AttentionOptions,
        dtype: DType, p: PRounding
    ) throws -> Result {
        let rule = try ScoreRule(
            options: options, batch: x.batch, queryHeads: x.queryHeads, queries: x.queries,
            keys: x.keys, headDim: x.headDim)
        func t(_ v: Float) -> Float { Float(Rounding.to(dtype, Double(v))) }
        let (d, dv) = (x.headDim, x.valueDim)
        var output = [Double](repeating: 0, count: x.batch * x.queryHeads * x.queries * dv)
        var lse = [Double](repeating: -.infinity, count: x.batch * x.queryHeads * x.queries)
        let q = x.q.data.map { Float($0) }, k = x.k.data.map { Float($0) }, v = x.v.data.map { Float($0) }
        var scores = [Float](repeating: 0, count: x.keys)
        var visible = [Bool](repeating: false, count: x.keys)
        for b in 0..<x.batch {
            for h in 0..<x.queryHeads {
                let kvh = h / x.groupSize, group = b * x.kvHeads + kvh
                let scale = Float(descale.q[group]) * Float(descale.k[group]) * Float(rule.scale)
                for i in 0..<x.queries {
                    let row = (b * x.queryHeads + h) * x.queries + i
                    let qBase = row * d
                    var m = -Float.infinity
                    for j in 0..<x.keys {
                        visible[j] = rule.isVisible(batch: b, head: h, query: i, key: j)
                        guard visible[j] else { continue }
                        let kBase = (group * x.keys + j) * d
                        var acc: Float = 0
                        for c in 0..<d { acc += q[qBase + c] * k[kBase + c] }
                        let s = Float(rule.score(scaledDot: Double(acc * scale), batch: b, head: h, query: i, key: j)!)
                        scores[j] = s
                        m = max(m, s)
                    }
                    guard m > -.infinity else { continue }
                    var sum: Float = 0
                    for j in 0..<x.keys where visible[j] {
                        scores[j] = Float(PortableMath.exp(Double(scores[j] - m)))
                        sum += scores[j]
                    }
                    lse[row] = Double(m + Float(PortableMath.log(Double(sum))))
                    var acc = [Float](repeating: 0, count: dv)
                    for j in 0..<x.keys where visible[j] {
                        let pj =
                            p == .fp8 ? Float(Rounding.toFloat8(Double(scores[j]), .e4m3fn)) : t(scores[j])
                        let vBase = (group * x.keys + j) * dv
                        for c in 0..<dv { acc[c] += pj * v[vBase + c] }
                    }
                    let factor = Float(descale.v[group]) / sum
                    for c in 0..<dv { output[row * dv + c] = Double(t(acc[c] * factor)) }
                }
            }
        }
        return Result(output: output, lse: lse)
    }
}

extension GoldenCase {
    /// An FP8 KV cache as vLLM's and FlashInfer's decode take it (`spec.kvFP8`): q in the test dtype (bf16 or f16),
    /// K and V stored as FP8 codes, dense (batch, kv_heads, seq_k, dim) or in pages (`layout: paged`), with a K scale
    /// and a V scale (f32; `kv_scale: tensor`, shape (1,), or `head`, shape (kv_heads,), shared by the batch). The
    /// values attended are code x scale, exact in f64. Each scale is f32(amax / largest) of its seeded normals, each
    /// code the saturating round of x / scale (`k_unquantised`, `v_unquantised` keep x / scale). Tolerances from two
    /// naive pipelines: K and V dequantised into the query's dtype (code x scale rounded, then the naive attention;
    /// vLLM, the default `kv-dequant`) and the codes in the products with the K scale on the f32 scores and the V
    /// scale on the f32 output (FlashInfer, `kv-scale`).
    static func fp8KVCache(_ spec: GoldenCaseSpec, dtype: DType) throws -> GeneratedCase {
        guard let format = spec.kvFloat8Format else { throw ReferenceError.invalidOption("not an fp8 KV-cache case") }
        let (b, hq, hkv, sq, sk, d, dv) = (
            spec.batch, spec.heads, spec.kvHeadCount, spec.seqQ, spec.seqK, spec.headDim, spec.valueDimension
        )
        let perHead = (spec.kvScale ?? "tensor") == "head"
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        let q = try Tensor(
            shape: [b, hq, sq, d], data: g.normals(b * hq * sq * d, std: std).map { Rounding.to(dtype, $0) })
        // Scales per tensor or per KV head (over the whole batch), then the codes.
        func quantised(_ dim: Int, _ s: Double) throws -> (
            codes: Tensor<Double>, unquantised: Tensor<Double>, scale: [Double]
        ) {
            let shape = [b, hkv, sk, dim]
            let q = GoldenCase.quantise(
                g.normals(b * hkv * sk * dim, std: s), groups: perHead ? hkv : 1, format: format
            ) { ($0 / (sk * dim)) % hkv }
            return (try Tensor(shape: shape, data: q.codes), try Tensor(shape: shape, data: q.unquantised), q.scale)
        }
        let k = try quantised(d, std), v = try quantised(dv, 1)
        func values(_ t: (codes: Tensor<Double>, unquantised: Tensor<Double>, scale: [Double]), round: Bool) -> Tensor<
            Double
        > {
            let dim = t.codes.shape[3]
            var i = -1
            return t.codes.map { c in
                i += 1
                let x = c * t.scale[perHead ? (i / (sk * dim)) % hkv : 0]
                return round ? Rounding.to(dtype, x) : x
            }
        }
        let options = try spec.options(dtype: dtype)
        let golden = try AttentionEnergy(
            inputs: try AttentionInputs(q: q, k: values(k, round: false), v: values(v, round: false)), options: options
        ).partial()
        let dequant = try NaivePipeline.run(
            try AttentionInputs(q: q, k: values(k, round: true), v: values(v, round: true)), options: options,
            dtype: dtype)
        let perGroup = { (s: [Double]) in (0..<(b * hkv)).map { s[perHead ? $0 % hkv : 0] } }
        let scaled = try NaivePipeline.fp8(
            try AttentionInputs(q: q, k: k.codes, v: v.codes),
            descale: ([Double](repeating: 1, count: b * hkv), perGroup(k.scale), perGroup(v.scale)), options: options,
            dtype: dtype, p: .dtype)
        let outDequant = GoldenTolerance.derive(golden: golden.output.data, naive: dequant.output, dtype: dtype)
        let outScale = GoldenTolerance.derive(golden: golden.output.data, naive: scaled.output, dtype: dtype)
        let lse = GoldenTolerance.derive(golden: golden.lse.data, naive: dequant.lse, dtype: .f32)
        let f8 = format.dtype
        let scaleShape = [perHead ? hkv : 1]
        var tensors: [(name: String, data: TensorData)] = [("q", try TensorData(q, dtype: dtype))]
        if spec.goldenLayout == .paged {
            tensors += try GoldenCase.paged(spec, dtype: f8, k: k.codes, v: v.codes)
        } else {
            tensors += [("k", try TensorData(k.codes, dtype: f8)), ("v", try TensorData(v.codes, dtype: f8))]
        }
        tensors += [
            ("k_scale", try TensorData(values: k.scale, shape: scaleShape, dtype: .f32)),
            ("v_scale", try TensorData(values: v.scale, shape: scaleShape, dtype: .f32)),
            ("k_unquantised", try TensorData(k.unquantised, dtype: .f64)),
            ("v_unquantised", try TensorData(v.unquantised, dtype: .f64)),
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)),
            ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        var metadata: [String: String] = [
            "input_dtype": f8.rawValue,
            "inputs":
                "q: seeded normals rounded once to \(dtype.rawValue); K and V in float8_\(format.rawValue) (ml_dtypes, PyTorch; safetensors \(f8.safetensorsName))\(spec.goldenLayout == .paged ? " pages" : "") with k_scale and v_scale (f32, \(perHead ? "one per KV head, shared by the batch, as vLLM's per-head scales" : "one per tensor, as vLLM's and FlashInfer's k_scale/v_scale")); the values attended are code x scale, exact in f64. Quantisation: scale = f32(amax / \(format.largest)) of the seeded normals x, code = round to nearest even of clamp(x / scale, -\(format.largest), \(format.largest)); k_unquantised, v_unquantised hold x / scale (dense (batch, kv_heads, seq_k, dim))",
            "golden":
                "f64 attention of q over code x scale: compensated sums, portable exp/log; out_f32/lse_f32 are it rounded once; a kernel returns out in \(dtype.rawValue)",
            "tolerance.out.variant": ToleranceVariant.kvDequant.rawValue,
            "tolerance.variants":
                "kv-dequant: K and V dequantised into \(dtype.rawValue) (code x scale rounded once, vLLM), then the naive attention (S, P, O rounded to \(dtype.rawValue), f32 accumulation), the default; kv-scale: S accumulated in f32 from q and the K codes, times k_scale * scale in f32, softmax in f32, P in \(dtype.rawValue), P.V accumulated in f32 from the V codes and times v_scale / rowsum (FlashInfer's k_scale/v_scale). Pick one with `treeattn check --tolerance-variant` or the results' metadata kv_dequant (dtype, scale)",
            "tolerance.out.kv-scale.atol": "\(outScale.atol)",
            "tolerance.out.kv-scale.naive_max_abs_error": "\(outScale.naiveMaxAbsError)",
            "tolerance.out.kv-scale.floor": "\(outScale.floor)",
            "kv_scale": perHead ? "head" : "tensor",
        ]
        if spec.goldenLayout == .paged { metadata.merge(GoldenCase.pagedMetadata(spec)) { $1 } }
        return GeneratedCase(
            tensors: tensors, metadata: metadata, outputTolerance: outDequant, lseTolerance: lse,
            outputVariants: [
                (ToleranceVariant.kvDequant.rawValue, outDequant), (ToleranceVariant.kvScale.rawValue, outScale),
            ])
    }
}
