/// One generated golden case: a case spec rendered for one test dtype, with its file contents and tolerances.
public struct GoldenCase: Sendable {
    public static let generatorVersion = "treeattn-golden/1"

    public let spec: GoldenCaseSpec
    public let dtype: DType
    public let file: SafetensorsFile
    public let outputTolerance: GoldenTolerance
    public let lseTolerance: GoldenTolerance

    /// File stem: `<case name>-<dtype>`.
    public var name: String { "\(spec.name)-\(dtype.rawValue)" }

    /// Builds inputs (seeded normals rounded ONCE to `dtype`), the f64 golden from those exact values, tree data for
    /// each split, and the derived tolerances.
    /// The whole case is estimated (`GoldenCaseSpec.estimatedBytes`) and checked against `budget` before anything
    /// is allocated.
    public init(spec: GoldenCaseSpec, dtype: DType, budget: MemoryBudget = .current) throws {
        try spec.validate()
        guard [.bf16, .f16, .f32].contains(dtype) else {
            throw ReferenceError.invalidOption("golden dtype must be bf16, f16 or f32, got \(dtype.rawValue)")
        }
        try budget.check(try spec.estimatedBytes(), for: "golden case \(CoreError.quote(spec.name))")
        self.spec = spec
        self.dtype = dtype
        let (b, hq, hkv, sq, sk, d, dv) = (spec.batch, spec.heads, spec.kvHeadCount, spec.seqQ, spec.seqK, spec.headDim, spec.valueDimension)
        var g = SeededGenerator(seed: spec.seed ?? 0)
        let std = spec.std ?? 1
        func quantised(_ shape: [Int], _ s: Double) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s).map { Rounding.to(dtype, $0) })
        }
        let inputs = try AttentionInputs(q: quantised([b, hq, sq, d], std), k: quantised([b, hkv, sk, d], std),
                                         v: quantised([b, hkv, sk, dv], 1))
        let options = try spec.options()
        let energy = try AttentionEnergy(inputs: inputs, options: options)
        let golden = try energy.partial()
        let naive = try NaivePipeline.run(inputs, options: options, dtype: dtype)
        outputTolerance = GoldenTolerance.derive(golden: golden.output.data, naive: naive.output, dtype: dtype)
        lseTolerance = GoldenTolerance.derive(golden: golden.lse.data, naive: naive.lse, dtype: .f32)

        var tensors: [(name: String, data: TensorData)] = [
            ("q", try TensorData(inputs.q, dtype: dtype)), ("k", try TensorData(inputs.k, dtype: dtype)),
            ("v", try TensorData(inputs.v, dtype: dtype)),
            ("out", try TensorData(golden.output, dtype: .f64)), ("lse", try TensorData(golden.lse, dtype: .f64)),
            ("out_f32", try TensorData(golden.output, dtype: .f32)), ("lse_f32", try TensorData(golden.lse, dtype: .f32)),
        ]
        for p in spec.splits ?? [] {
            let layout = try ShardLayout(keys: sk, shards: p)
            let partials = try layout.ranges.map { try energy.partial(keys: $0) }
            let trace = try TreeReduction.reduce(partials, plan: ReductionPlan(leaves: p, shape: .binary))
            for (i, part) in partials.enumerated() {
                tensors.append(("tree.p\(p).shard\(i).out", try TensorData(part.output, dtype: .f64)))
                tensors.append(("tree.p\(p).shard\(i).lse", try TensorData(part.lse, dtype: .f64)))
            }
            for (l, level) in trace.levels.enumerated().dropFirst() {
                for (n, node) in level.enumerated() {
                    tensors.append(("tree.p\(p).level\(l).node\(n).out", try TensorData(node.output, dtype: .f64)))
                    tensors.append(("tree.p\(p).level\(l).node\(n).lse", try TensorData(node.lse, dtype: .f64)))
                }
            }
        }
        var metadata: [String: String] = [
            "case": spec.canonicalJSON, "dtype": dtype.rawValue, "layout": "bhsd", "lse_layout": "bhs", "lse_base": "e",
            "seed": "\(spec.seed ?? 0)", "generator": GoldenCase.generatorVersion,
            "inputs": "seeded normals (SeededGenerator, Irwin-Hall) rounded once from f64 to \(dtype.rawValue), nearest even",
            "golden": "f64 from the quantised inputs: compensated sums, portable exp/log; out_f32/lse_f32 are it rounded once",
            "empty_rows": "output 0, lse -inf",
            "tolerance.rule": GoldenTolerance.rule,
            "tolerance.out.atol": "\(outputTolerance.atol)", "tolerance.out.naive_max_abs_error": "\(outputTolerance.naiveMaxAbsError)",
            "tolerance.out.floor": "\(outputTolerance.floor)",
            "tolerance.lse.atol": "\(lseTolerance.atol)", "tolerance.lse.naive_max_abs_error": "\(lseTolerance.naiveMaxAbsError)",
            "tolerance.lse.floor": "\(lseTolerance.floor)",
        ]
        if let splits = spec.splits {
            metadata["tree.splits"] = splits.map(String.init).joined(separator: ",")
            metadata["tree.plan"] = "binary: pairs (0,1),(2,3),... left to right, odd node carried up; shards are contiguous, the first Sk mod p get one extra key"
        }
        file = SafetensorsFile(tensors: tensors, metadata: metadata)
    }
}

extension GoldenCaseSpec {
    /// Bytes a generated case holds at its peak, overflow-checked: the inputs (f64 and the test dtype, and the file's
    /// copy), the golden partial (f64, its f32 copies), and for each split p its p shard partials and every node of the
    /// binary tree, each as a partial and as the file's f64 tensors, plus the file's encoded bytes (about 3 copies).
    public func estimatedBytes() throws -> Int {
        let what = "golden case \(CoreError.quote(name))"
        let partial = try MemoryBudget.product([batch, heads, seqQ, valueDimension + 1, 8], for: what)
        var partials = 3
        for p in splits ?? [] {
            var nodes = p, width = p
            while width > 1 {
                width = (width + 1) / 2
                nodes = try MemoryBudget.sum([nodes, width], for: what)
            }
            partials = try MemoryBudget.sum([partials, try MemoryBudget.product([nodes, 3], for: what)], for: what)
        }
        return try MemoryBudget.sum([try MemoryBudget.product([partial, partials], for: what),
                                     try MemoryBudget.product([inputElements, 8, 3], for: what)], for: what)
    }

    /// JSON with sorted keys and Swift's shortest round-trip number text: the same bytes on every machine.
    public var canonicalJSON: String {
        var fields: [(String, String)] = [("name", jsonString(name)), ("batch", "\(batch)"), ("heads", "\(heads)"),
                                          ("kv_heads", "\(kvHeadCount)"), ("seq_q", "\(seqQ)"), ("seq_k", "\(seqK)"),
                                          ("head_dim", "\(headDim)"), ("value_dim", "\(valueDimension)"),
                                          ("causal", jsonString(causal ?? "none")), ("seed", "\(seed ?? 0)"),
                                          ("std", "\(std ?? 1)")]
        if let window { fields.append(("window", "[\(window[0]),\(window[1])]")) }
        if let softcap { fields.append(("softcap", "\(softcap)")) }
        if let scale { fields.append(("scale", "\(scale)")) }
        if alibi == true {
            fields.append(("alibi_slopes", "[" + GoldenCaseSpec.alibiSlopes(heads: heads).map { "\($0)" }.joined(separator: ",") + "]"))
        }
        if let cacheSeqlens { fields.append(("cache_seqlens", "[" + cacheSeqlens.map(String.init).joined(separator: ",") + "]")) }
        if let splits { fields.append(("splits", "[" + splits.map(String.init).joined(separator: ",") + "]")) }
        return "{" + fields.sorted { $0.0 < $1.0 }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
