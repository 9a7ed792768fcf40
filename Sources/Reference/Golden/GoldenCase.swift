/// One generated golden case: a case spec rendered for one test dtype, with its file contents and tolerances.
public struct GoldenCase: Sendable {
    /// The generator's name and version, recorded in every golden file's metadata and in `manifest.json`.
    public static let generatorVersion = "treeattn-golden/1"

    /// The case's shapes and options.
    public let spec: GoldenCaseSpec
    /// The test dtype the inputs are rounded to: bf16, f16 or f32.
    public let dtype: DType
    /// The golden file's tensors and metadata: the quantised inputs, the f64 goldens and their f32 roundings, and any
    /// tree data and gradients.
    public let file: SafetensorsFile
    /// The output's derived tolerance.
    public let outputTolerance: GoldenTolerance
    /// The LSE's derived tolerance.
    public let lseTolerance: GoldenTolerance
    /// The tolerances of the further checked tensors: a backward case's gradients (dq, dk, dv, then dsinks), a kvcache
    /// case's updated caches; nil when there are none.
    public let gradientTolerances: [(name: String, tolerance: GoldenTolerance)]?
    /// The output's tolerance under each variant of the naive pipeline, the default (`outputTolerance`) first: an
    /// FP8 case's `p-fp8` and `p-dtype`; empty for other cases.
    public private(set) var outputVariantTolerances: [(name: String, tolerance: GoldenTolerance)] = []

    /// File stem: `<case name>-<dtype>`.
    public var name: String { "\(spec.name)-\(dtype.rawValue)" }

    /// Builds inputs (seeded normals rounded ONCE to `dtype`), the f64 golden from those exact values, tree data for
    /// each split, and the derived tolerances.
    /// The whole case is estimated (`GoldenCaseSpec.estimatedBytes`) and checked against `budget` before anything
    /// is allocated.
    ///
    /// With `backward`, the case also holds the upstream gradient `do` (seeded normals drawn after Q, K and V, rounded
    /// to `dtype`, so the forward tensors are the same bytes as without it), the f64 gradients `dq`, `dk`, `dv` from the
    /// energy formulation (`AttentionEnergy.lossGradients`) and their f32 roundings, each split's per-shard gradients
    /// (`tree.pP.shardI.dq` is shard I's dQ share, `.dk`/`.dv` its keys'), and tolerances derived per gradient from
    /// the emulated naive same-precision backward (`NaivePipeline.backward`).
    public init(spec: GoldenCaseSpec, dtype: DType, backward: Bool = false, budget: MemoryBudget = .current) throws {
        try spec.validate()
        guard [.bf16, .f16, .f32].contains(dtype) else {
            throw ReferenceError.invalidOption("golden dtype must be bf16, f16 or f32, got \(dtype.rawValue)")
        }
        try budget.check(
            try spec.estimatedBytes(backward: backward), for: "golden case \(TextEscaping.quoted(spec.name))")
        self.spec = spec
        self.dtype = dtype
        if backward && spec.mla == "absorbed" {
            throw ReferenceError.invalidOption(
                "case \(TextEscaping.quoted(spec.name)): --backward covers MLA's naive form (the absorbed form is a decode)"
            )
        }
        if (spec.fp8 != nil || spec.kvFp8 != nil) && dtype == .f32 {
            throw ReferenceError.invalidOption(
                "case \(TextEscaping.quoted(spec.name)): fp8 cases return bf16 or f16, as FP8 kernels do (FlashAttention 3, FlashInfer, vLLM); f32 is not a test dtype for them"
            )
        }
        if backward && (spec.fp8 != nil || spec.kvFp8 != nil) {
            throw ReferenceError.invalidOption(
                "case \(TextEscaping.quoted(spec.name)): --backward does not cover fp8 cases (FlashAttention 3's FP8 path is a forward)"
            )
        }
        if backward && spec.goldenLayout != .dense {
            throw ReferenceError.invalidOption(
                "case \(TextEscaping.quoted(spec.name)): --backward covers dense cases only (this one is \(spec.goldenLayout.rawValue))"
            )
        }
        if [.varlen, .merge, .kvcache].contains(spec.goldenLayout) || spec.mla == "naive" || spec.fp8 != nil
            || spec.kvFp8 != nil || spec.dropoutP != nil
        {
            let generated: GeneratedCase
            switch spec.goldenLayout {
            case _ where spec.fp8 != nil:
                generated = try GoldenCase.fp8(spec, dtype: dtype)
            case _ where spec.kvFp8 != nil:
                generated = try GoldenCase.fp8KVCache(spec, dtype: dtype)
            case _ where spec.dropoutP != nil:
                generated = try GoldenCase.dropout(spec, dtype: dtype, backward: backward)
            case _ where spec.mla == "naive":
                generated = try GoldenCase.mlaNaive(spec, dtype: dtype, backward: backward)
            case .varlen: generated = try GoldenCase.varlen(spec, dtype: dtype)
            case .kvcache: generated = try GoldenCase.kvcache(spec, dtype: dtype)
            default: generated = try GoldenCase.merge(spec, dtype: dtype)
            }
            (outputTolerance, lseTolerance) = (generated.outputTolerance, generated.lseTolerance)
            gradientTolerances = generated.extraTolerances.isEmpty ? nil : generated.extraTolerances
            outputVariantTolerances = generated.outputVariants
            var metadata = GoldenCase.commonMetadata(
                spec, dtype: dtype, output: generated.outputTolerance, lse: generated.lseTolerance
            )
            .merging(generated.metadata) { $1 }
            for (name, tol) in generated.extraTolerances {
                metadata["tolerance.\(name).atol"] = "\(tol.atol)"
                metadata["tolerance.\(name).naive_max_abs_error"] = "\(tol.naiveMaxAbsError)"
                metadata["tolerance.\(name).floor"] = "\(tol.floor)"
            }
            file = SafetensorsFile(tensors: generated.tensors, metadata: metadata)
            return
        }
        let (b, hq, hkv, sq, sk, d, dv) = (
            spec.batch, spec.heads, spec.kvHeadCount, spec.seqQ, spec.seqK, spec.headDim, spec.valueDimension
        )
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        func quantised(_ shape: [Int], _ s: Double) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s).map { Rounding.to(dtype, $0) })
        }
        // MLA's absorbed form: one latent cache of rows [c | k_pe]; the values are its first latent_dim entries.
        // Drawn in the order q, k, v (the bytes of every earlier golden depend on it).
        let q = try quantised([b, hq, sq, d], std)
        let k = try quantised([b, hkv, sk, d], std)
        let drawn = try AttentionInputs(
            q: q, k: k,
            v: spec.mla == "absorbed"
                ? try MultiHeadLatentAttention.latentValues(k, latentDim: dv) : quantised([b, hkv, sk, dv], 1))
        // Rope: the attention runs on the rotated q and k (rounded to the dtype); the file keeps the drawn ones.
        let rotation = try GoldenCase.rotation(spec, dtype: dtype, drawn: drawn)
        let inputs = rotation?.inputs ?? drawn
        let options = try spec.options(dtype: dtype)
        let energy = try AttentionEnergy(inputs: inputs, options: options)
        let golden = try energy.partial()
        let naive = try NaivePipeline.run(rotation?.naive ?? inputs, options: options, dtype: dtype)
        outputTolerance = GoldenTolerance.derive(golden: golden.output.data, naive: naive.output, dtype: dtype)
        lseTolerance = GoldenTolerance.derive(golden: golden.lse.data, naive: naive.lse, dtype: .f32)

        var tensors: [(name: String, data: TensorData)] = [
            ("q", try TensorData(drawn.q, dtype: dtype)), ("k", try TensorData(drawn.k, dtype: dtype)),
            ("v", try TensorData(drawn.v, dtype: dtype)),
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)),
            ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        if let sinks = options.sinks {
            // The sinks as stored (rounded once to the test dtype), and the LSE of the keys alone for kernels whose
            // LSE leaves the sink out (FlashMLA's attn_sink, gpt-oss's Triton kernel).
            var plain = options
            plain.sinks = nil
            let keysOnly = try AttentionEnergy(inputs: inputs, options: plain).partial()
            tensors.append(("sinks", try TensorData(try Tensor(shape: [hq], data: sinks), dtype: dtype)))
            tensors.append(("lse_without_sink", try TensorData(keysOnly.lse, dtype: .f64)))
        }
        var gradientTolerances: [(name: String, tolerance: GoldenTolerance)]? = nil
        var upstream: Tensor<Double>? = nil, upstreamLSE: Tensor<Double>? = nil
        if backward {
            let dO = try quantised([b, hq, sq, dv], 1)
            let dlse = spec.dlse == true ? try quantised([b, hq, sq], 1) : nil
            var grads = try energy.lossGradients(dO: dO, dlse: dlse)
            let naiveGrads = try NaivePipeline.backward(
                rotation?.naive ?? inputs, dO: dO, options: options, dtype: dtype, dlse: dlse)
            var (naiveDQ, naiveDK) = (naiveGrads.dq, naiveGrads.dk)
            if let rotation {
                // Gradients of the unrotated q and k: the rotation's transpose (the golden's, and the naive one's).
                (grads.dq, grads.dk) = try rotation.unrotate(dq: grads.dq, dk: grads.dk)
                let back = try rotation.unrotate(
                    dq: Tensor(shape: drawn.q.shape, data: naiveDQ), dk: Tensor(shape: drawn.k.shape, data: naiveDK))
                (naiveDQ, naiveDK) = (
                    back.dq.data.map { Rounding.to(dtype, $0) }, back.dk.data.map { Rounding.to(dtype, $0) }
                )
            }
            tensors.append(("do", try TensorData(dO, dtype: dtype)))
            if let dlse { tensors.append(("dlse", try TensorData(dlse, dtype: dtype))) }
            var tolerances: [(name: String, tolerance: GoldenTolerance)] = []
            var compared = [
                ("dq", grads.dq, naiveDQ), ("dk", grads.dk, naiveDK), ("dv", grads.dv, naiveGrads.dv),
            ]
            if let dsinks = grads.dsinks { compared.append(("dsinks", dsinks, naiveGrads.dsinks)) }
            for (name, golden, naive) in compared {
                tensors.append((name, try TensorData(golden, dtype: .f64)))
                tensors.append(("\(name)_f32", try TensorData(golden, dtype: .f32)))
                tolerances.append((name, GoldenTolerance.derive(golden: golden.data, naive: naive, dtype: dtype)))
            }
            gradientTolerances = tolerances
            upstream = dO
            upstreamLSE = dlse
        }
        self.gradientTolerances = gradientTolerances
        for p in spec.splits ?? [] {
            let layout = try ShardLayout(keys: sk, shards: p)
            let partials = try layout.ranges.map { try energy.partial(keys: $0) }
            let shares = try upstream.map { try energy.lossGradients(dO: $0, shards: layout.ranges, dlse: upstreamLSE) }
            let trace = try TreeReduction.reduce(partials, plan: ReductionPlan(leaves: p, shape: .binary))
            for (i, part) in partials.enumerated() {
                tensors.append(("tree.p\(p).shard\(i).out", try TensorData(part.output, dtype: .f64)))
                tensors.append(("tree.p\(p).shard\(i).lse", try TensorData(part.lse, dtype: .f64)))
                if let share = shares?[i] {
                    for (name, t) in [("dq", share.dq), ("dk", share.dk), ("dv", share.dv)] {
                        tensors.append(("tree.p\(p).shard\(i).\(name)", try TensorData(t, dtype: .f64)))
                    }
                }
            }
            for (l, level) in trace.levels.enumerated().dropFirst() {
                for (n, node) in level.enumerated() {
                    tensors.append(("tree.p\(p).level\(l).node\(n).out", try TensorData(node.output, dtype: .f64)))
                    tensors.append(("tree.p\(p).level\(l).node\(n).lse", try TensorData(node.lse, dtype: .f64)))
                }
            }
        }
        var metadata = GoldenCase.commonMetadata(spec, dtype: dtype, output: outputTolerance, lse: lseTolerance)
        if let sparse = try spec.sparseLayout() {
            tensors += sparse.tensors
            tensors.append(
                (
                    "mask",
                    try TensorData(values: sparse.mask.data.map { $0 ? 1 : 0 }, shape: sparse.mask.shape, dtype: .bool)
                ))
            metadata["sparse"] =
                sparse.description
                + "; mask is the equivalent dense boolean mask (true: the key takes part), broadcast (B|1, H|1, seq_q, seq_k)"
        }
        if spec.goldenLayout == .paged {
            // The dense K and V the goldens were computed from go into pages instead (k_cache, v_cache).
            let pagedTensors = try GoldenCase.paged(spec, dtype: dtype, k: drawn.k, v: drawn.v)
            tensors.removeAll { $0.name == "k" || $0.name == "v" }
            tensors.insert(contentsOf: pagedTensors, at: 1)
            metadata.merge(GoldenCase.pagedMetadata(spec)) { $1 }
        }
        if let gradientTolerances {
            metadata["backward"] =
                "do: upstream gradient, rounded once to \(dtype.rawValue); dq, dk, dv: f64 gradients of sum(do * out) from the energy formulation (compensated sums, portable exp); *_f32 are them rounded once"
                + (spec.splits == nil
                    ? ""
                    : "; tree.pP.shardI.dq is shard I's share of dq (global LSE and D), .dk/.dv the gradients of its keys")
            for (name, tol) in gradientTolerances {
                metadata["tolerance.\(name).atol"] = "\(tol.atol)"
                metadata["tolerance.\(name).naive_max_abs_error"] = "\(tol.naiveMaxAbsError)"
                metadata["tolerance.\(name).floor"] = "\(tol.floor)"
            }
        }
        if let rotation {
            tensors += rotation.tensors
            let r = rotation.rope
            metadata["rope"] =
                "q and k are the unrotated inputs; attention runs on q_rotated and k_rotated: pairs \(r.layout == .neox ? "(i, i + \(r.rotaryDim / 2)) (GPT-NeoX halves, rotary_interleaved=False)" : "(2i, 2i + 1) (GPT-J interleaved, rotary_interleaved=True)") of the first \(r.rotaryDim) features rotated by position x theta^(-2i/\(r.rotaryDim)), theta \(r.theta)\(r.llama3 != nil ? ", Llama 3.1 scaling (factor 8, low 1, high 4, original 8192)" : ""); in f64 with portable sin/cos, rounded once to \(dtype.rawValue). Positions q_positions, k_positions (\(spec.ropePositions ?? "absolute")); rotary_cos/rotary_sin (position, rotary_dim / 2) in f32 as flash_attn_with_kvcache takes them"
                + (backward ? "; dq, dk are gradients of the unrotated q and k" : "")
        }
        if spec.mla == "absorbed" {
            metadata["mla"] =
                "absorbed form (DeepSeek-V3 decode, FlashMLA, FlashInfer MLA): q = [W_UK^T q_nope | q_pe] (\(d)), one KV head of latent cache rows k = [c | k_pe] (\(d)); v is k[..., :\(dv)] (the latent c); FlashInfer's ckv = k[..., :\(dv)], kpe = k[..., \(dv):]; scale \(options.scale ?? 0) = DeepSeek-V3's 192^-0.5 * mscale^2, not 1/sqrt(\(d))"
        }
        if options.sinks != nil {
            metadata["sinks"] =
                "sinks: one logit per query head, rounded once to \(dtype.rawValue), a final score (not scaled, not capped) in every row's softmax denominator with value 0 (gpt-oss); lse includes it (FlashAttention 4, vLLM s_aux, FlashInfer); lse_without_sink is the keys' own LSE (FlashMLA attn_sink, gpt-oss Triton); tree.* partials and levels leave the sink out, the final merge adds it once"
        }
        if let n = options.sinkTokens, n > 0 {
            metadata["sink_tokens"] =
                "the first \(n) keys stay visible beside the window (StreamingLLM), subject to cache lengths and causality"
        }
        if upstreamLSE != nil {
            metadata["dlse"] =
                "dlse: upstream gradient of lse, rounded once to \(dtype.rawValue); gradients are of sum(do * out) + sum(dlse * lse): dS = P (dP - D + dlse)"
        }
        if let splits = spec.splits {
            metadata["tree.splits"] = splits.map(String.init).joined(separator: ",")
            metadata["tree.plan"] =
                "binary: pairs (0,1),(2,3),... left to right, odd node carried up; shards are contiguous, the first Sk mod p get one extra key"
        }
        file = SafetensorsFile(tensors: tensors, metadata: metadata)
    }
}

extension GoldenCase {
    /// The metadata every case has: its options, dtype, layout defaults (bhsd, LSE base e), the generator and the
    /// tolerances with their rule.
    static func commonMetadata(_ spec: GoldenCaseSpec, dtype: DType, output: GoldenTolerance, lse: GoldenTolerance)
        -> [String: String]
    {
        [
            "case": spec.canonicalJSON, "dtype": dtype.rawValue, "layout": "bhsd", "lse_layout": "bhs", "lse_base": "e",
            "seed": "\(spec.seed ?? 0)", "generator": GoldenCase.generatorVersion,
            "inputs":
                "seeded normals (SeededGenerator, Irwin-Hall) rounded once from f64 to \(dtype.rawValue), nearest even",
            "golden":
                "f64 from the quantised inputs: compensated sums, portable exp/log; out_f32/lse_f32 are it rounded once",
            "empty_rows": "output 0, lse -inf",
            "tolerance.rule": GoldenTolerance.rule,
            "tolerance.out.atol": "\(output.atol)", "tolerance.out.naive_max_abs_error": "\(output.naiveMaxAbsError)",
            "tolerance.out.floor": "\(output.floor)",
            "tolerance.lse.atol": "\(lse.atol)", "tolerance.lse.naive_max_abs_error": "\(lse.naiveMaxAbsError)",
            "tolerance.lse.floor": "\(lse.floor)",
        ]
    }
}

extension GoldenCaseSpec {
    /// Bytes a generated case holds at its peak, overflow-checked: the inputs (f64 and the test dtype, and the file's
    /// copy), the golden partial (f64, its f32 copies), and for each split p its p shard partials and every node of the
    /// binary tree, each as a partial and as the file's f64 tensors, plus the file's encoded bytes (about 3 copies).
    /// A backward case adds dO and the three gradients (golden, naive, file copies: 3 copies of inputs' size again)
    /// and, per split, p shard gradients (a dQ share each, their dK/dV slices together one K/V).
    public func estimatedBytes(backward: Bool = false) throws -> Int {
        let what = "golden case \(TextEscaping.quoted(name))"
        let partial = try MemoryBudget.product([batch, heads, seqQ, valueDimension + 1, 8], for: what)
        var gradients = 0
        if backward {
            let q = try MemoryBudget.product([batch, heads, seqQ, headDim + 1, 8], for: what)
            var shares = 0
            for p in splits ?? [] { shares = try MemoryBudget.sum([shares, p, 1], for: what) }
            gradients = try MemoryBudget.sum(
                [
                    try MemoryBudget.product([inputElements, 8, 3], for: what),
                    try MemoryBudget.product([q, shares, 2], for: what),
                ], for: what)
        }
        var partials = 3
        for p in splits ?? [] {
            var nodes = p, width = p
            while width > 1 {
                width = (width + 1) / 2
                nodes = try MemoryBudget.sum([nodes, width], for: what)
            }
            partials = try MemoryBudget.sum([partials, try MemoryBudget.product([nodes, 3], for: what)], for: what)
        }
        // A merge case holds its partial states (v and s, f64 and the file's copies); a paged one its pages (every
        // row's pages, its last one padded to a whole page, plus two spare pages, as f64, the file's copy and its
        // encoded bytes).
        var layoutBytes = 0
        if dropoutP != nil {
            // The keep mask as Bool, as the file's bytes and its encoding's f64 values.
            layoutBytes = try MemoryBudget.product([batch, heads, seqQ, seqK, 10], for: what)
        } else if goldenLayout == .merge {
            layoutBytes = try MemoryBudget.product([seqQ, self.partials ?? 2, heads, headDim + 1, 8, 4], for: what)
        } else if goldenLayout == .paged {
            let size = max(1, pageSize ?? 16)
            let pages = try MemoryBudget.sum(
                (cacheSeqlens ?? []).map { PagedKVCache<Double>.pages(holding: max(0, $0), pageSize: size) } + [2],
                for: what)
            layoutBytes = try MemoryBudget.product(
                [pages, size, kvHeadCount, headDim + valueDimension, 8, 3], for: what)
        }
        return try MemoryBudget.sum(
            [
                try MemoryBudget.product([partial, partials], for: what),
                try MemoryBudget.product([inputElements, 8, 3], for: what), gradients, layoutBytes,
            ], for: what)
    }

    /// JSON with sorted keys and Swift's shortest round-trip number text: the same bytes on every machine.
    public var canonicalJSON: String {
        var fields: [(String, String)] = [
            ("name", TextEscaping.jsonLiteral(name)), ("batch", "\(batch)"), ("heads", "\(heads)"),
            ("kv_heads", "\(kvHeadCount)"), ("seq_q", "\(seqQ)"), ("seq_k", "\(seqK)"),
            ("head_dim", "\(headDim)"), ("value_dim", "\(valueDimension)"),
            ("causal", TextEscaping.jsonLiteral(causal ?? "none")), ("seed", "\(seed ?? 0)"),
            ("std", "\(std ?? 1)"),
        ]
        if let window { fields.append(("window", "[\(window[0]),\(window[1])]")) }
        if let softcap { fields.append(("softcap", "\(softcap)")) }
        if let scale { fields.append(("scale", "\(scale)")) }
        if alibi == true {
            fields.append(
                (
                    "alibi_slopes",
                    "[" + GoldenCaseSpec.alibiSlopes(heads: heads).map { "\($0)" }.joined(separator: ",") + "]"
                ))
        }
        if let cacheSeqlens {
            fields.append(("cache_seqlens", "[" + cacheSeqlens.map(String.init).joined(separator: ",") + "]"))
        }
        if let splits { fields.append(("splits", "[" + splits.map(String.init).joined(separator: ",") + "]")) }
        if let layout { fields.append(("layout", TextEscaping.jsonLiteral(layout))) }
        if let seqlensQ { fields.append(("seqlens_q", "[" + seqlensQ.map(String.init).joined(separator: ",") + "]")) }
        if let seqlensK { fields.append(("seqlens_k", "[" + seqlensK.map(String.init).joined(separator: ",") + "]")) }
        if let pageSize { fields.append(("page_size", "\(pageSize)")) }
        if let pageLayout { fields.append(("page_layout", TextEscaping.jsonLiteral(pageLayout))) }
        if let partials { fields.append(("partials", "\(partials)")) }
        if let lseBase { fields.append(("lse_base", TextEscaping.jsonLiteral(lseBase))) }
        if let sinks { fields.append(("sinks", "[" + sinks.map { "\($0)" }.joined(separator: ",") + "]")) }
        if let sinkTokens { fields.append(("sink_tokens", "\(sinkTokens)")) }
        if let dlse { fields.append(("dlse", "\(dlse)")) }
        if let mla { fields.append(("mla", TextEscaping.jsonLiteral(mla))) }
        if let ropeDim { fields.append(("rope_dim", "\(ropeDim)")) }
        if let latentDim { fields.append(("latent_dim", "\(latentDim)")) }
        if let ropeLayout { fields.append(("rope_layout", TextEscaping.jsonLiteral(ropeLayout))) }
        if let rotaryDim { fields.append(("rotary_dim", "\(rotaryDim)")) }
        if let ropeTheta { fields.append(("rope_theta", "\(ropeTheta)")) }
        if let ropeScaling { fields.append(("rope_scaling", TextEscaping.jsonLiteral(ropeScaling))) }
        if let ropePositions { fields.append(("rope_positions", TextEscaping.jsonLiteral(ropePositions))) }
        if let cacheLeftpad {
            fields.append(("cache_leftpad", "[" + cacheLeftpad.map(String.init).joined(separator: ",") + "]"))
        }
        if let attentionChunk { fields.append(("attention_chunk", "\(attentionChunk)")) }
        if let newTokens { fields.append(("new_tokens", "\(newTokens)")) }
        if let cacheBatchIndex {
            fields.append(("cache_batch_idx", "[" + cacheBatchIndex.map(String.init).joined(separator: ",") + "]"))
        }
        if let cacheRows { fields.append(("cache_rows", "\(cacheRows)")) }
        if let sequsedQ { fields.append(("seqused_q", "[" + sequsedQ.map(String.init).joined(separator: ",") + "]")) }
        if let sequsedK { fields.append(("seqused_k", "[" + sequsedK.map(String.init).joined(separator: ",") + "]")) }
        if let fp8 { fields.append(("fp8", TextEscaping.jsonLiteral(fp8))) }
        if let descale { fields.append(("descale", TextEscaping.jsonLiteral(descale))) }
        if let fp8Edges { fields.append(("fp8_edges", "\(fp8Edges)")) }
        if let kvFp8 { fields.append(("kv_fp8", TextEscaping.jsonLiteral(kvFp8))) }
        if let kvScale { fields.append(("kv_scale", TextEscaping.jsonLiteral(kvScale))) }
        if let dropoutP { fields.append(("dropout_p", "\(dropoutP)")) }
        if let documents { fields.append(("documents", "[" + documents.map(String.init).joined(separator: ",") + "]")) }
        if let sparse { fields.append(("sparse", TextEscaping.jsonLiteral(sparse))) }
        if let blockSize {
            fields.append(("block_size", "[" + blockSize.map(String.init).joined(separator: ",") + "]"))
        }
        if let blockDensity { fields.append(("block_density", "\(blockDensity)")) }
        return "{" + fields.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
