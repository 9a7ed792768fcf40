import Foundation
import Testing

@testable import Reference

/// `treeattn golden --backward`: the gradients, their tolerances, the per-shard shares and the checker.
@Suite struct GoldenBackwardTests {
    static let specs = [
        GoldenCaseSpec(
            name: "gqa-causal-softcap", heads: 4, kvHeads: 2, seqQ: 9, seqK: 40, headDim: 16, causal: "bottom-right",
            softcap: 20, seed: 11, splits: [3, 7]),
        GoldenCaseSpec(
            name: "decode-alibi-cache", batch: 2, heads: 4, kvHeads: 1, seqQ: 2, seqK: 60, headDim: 8, valueDim: 12,
            alibi: true, cacheSeqlens: [60, 9], seed: 12),
        GoldenCaseSpec(
            name: "empty-rows-window", heads: 2, seqQ: 12, seqK: 5, headDim: 8, causal: "bottom-right", window: [2, 0],
            seed: 13),
    ]

    /// The forward tensors are the same bytes with and without --backward; do is rounded to the dtype; the f64
    /// gradients match the BLAS kernel's backward on the quantised inputs; tree shares sum to dq and slice dk, dv.
    @Test(arguments: specs)
    func gradientsMatchTheKernel(_ spec: GoldenCaseSpec) throws {
        let forward = try GoldenCase(spec: spec, dtype: .bf16)
        let c = try GoldenCase(spec: spec, dtype: .bf16, backward: true)
        for (name, data) in forward.file.tensors { #expect(c.file[name] == data, "\(name) changed with --backward") }
        let doData = try #require(c.file["do"])
        #expect(doData.dtype == .bf16)
        let dO = doData.tensor()
        #expect(dO.data.allSatisfy { Rounding.to(.bf16, $0) == $0 })
        let x = try AttentionInputs(q: c.file["q"]!.tensor(), k: c.file["k"]!.tensor(), v: c.file["v"]!.tensor())
        let g = try AttentionBackward.gradients(x, dO: dO, options: spec.options()).gradients
        #expect(relativeError(c.file["dq"]!.doubles(), g.dq.data) < 1e-13)
        #expect(relativeError(c.file["dk"]!.doubles(), g.dk.data) < 1e-13)
        #expect(relativeError(c.file["dv"]!.doubles(), g.dv.data) < 1e-13)
        #expect(c.file["dq_f32"]!.doubles() == c.file["dq"]!.doubles().map { Double(Float($0)) })
        for p in spec.splits ?? [] {
            let layout = try ShardLayout(keys: spec.seqK, shards: p)
            var dq = [Double](repeating: 0, count: g.dq.count)
            for (i, range) in layout.ranges.enumerated() {
                let share = c.file["tree.p\(p).shard\(i).dq"]!.doubles()
                for e in dq.indices { dq[e] += share[e] }
                let dk = c.file["tree.p\(p).shard\(i).dk"]!.tensor()
                #expect(dk.shape[2] == range.count)
                for j in range { #expect(abs(dk[0, 1, j - range.lowerBound, 3] - g.dk[0, 1, j, 3]) < 1e-13) }
            }
            #expect(relativeError(dq, g.dq.data) < 1e-13, "p=\(p) shares sum to dq")
        }
        // Tolerances: positive, 2 x the naive error plus the floor, recorded in the manifest.
        let tolerances = try #require(c.gradientTolerances)
        #expect(tolerances.map(\.name) == ["dq", "dk", "dv"])
        for (name, t) in tolerances {
            #expect(t.naiveMaxAbsError > 0 && t.atol == 2 * t.naiveMaxAbsError + t.floor)
            #expect(c.file.metadata["tolerance.\(name).atol"] == "\(t.atol)")
        }
    }

    /// The emulated naive bf16 backward has the error a bf16 autograd backward has (normwise ~1e-2 to 2e-3, and
    /// far above f32's), so the derived tolerances are of the right size; the kernel's own f32 backward from the bf16
    /// inputs passes them.
    @Test func naiveBackwardErrorsAndAnF32BackendPasses() throws {
        let spec = GoldenCaseSpec(name: "probe", heads: 2, seqQ: 32, seqK: 256, headDim: 64, seed: 9)
        var normwise: [DType: Double] = [:]
        for dtype in [DType.bf16, .f32] {
            let c = try GoldenCase(spec: spec, dtype: dtype, backward: true)
            let x = try AttentionInputs(q: c.file["q"]!.tensor(), k: c.file["k"]!.tensor(), v: c.file["v"]!.tensor())
            let naive = try NaivePipeline.backward(x, dO: c.file["do"]!.tensor(), options: spec.options(), dtype: dtype)
            let golden = c.file["dq"]!.doubles()
            let num = zip(naive.dq, golden).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            normwise[dtype] = (num / golden.map { $0 * $0 }.reduce(0, +)).squareRoot()
            // An f32 backend (the kernel's f32 backward on the widened inputs) passes every gradient's tolerance.
            let x32 = try AttentionInputs(q: x.q.map(Float.init), k: x.k.map(Float.init), v: x.v.map(Float.init))
            let g = try AttentionBackward.gradients(
                x32, dO: c.file["do"]!.tensor().map(Float.init), options: spec.options()
            ).gradients
            for ((name, t), got) in zip(c.gradientTolerances!, [g.dq, g.dk, g.dv]) {
                let want = c.file[name]!.doubles()
                let worst = zip(got.data, want).map { abs(Double($0) - $1) }.max()!
                #expect(worst <= t.atol, "\(dtype) \(name): \(worst) > \(t.atol)")
            }
        }
        #expect((1e-3...3e-2).contains(normwise[.bf16]!), "bf16 \(normwise[.bf16]!)")
        #expect(normwise[.f32]! < 1e-5 && normwise[.f32]! > 0)
    }

    /// The checker reads dq, dk, dv when the results hold them: the goldens pass, an error above a gradient's tolerance
    /// fails, bshd gradients are understood, forward-only results are still checked on out and lse.
    @Test func checkerChecksGradients() throws {
        let golden = try temporaryFolder("bw-golden"), results = try temporaryFolder("bw-results")
        defer { for f in [golden, results] { try? FileManager.default.removeItem(atPath: f) } }
        let cases = try Self.specs.map { try GoldenCase(spec: $0, dtype: .f32, backward: true) }
        for c in cases { try c.file.write(to: golden + "/\(c.name).safetensors") }
        try AtomicFile.write(GoldenManifest(suite: "t", cases: cases).json, to: golden + "/manifest.json")
        #expect(try GoldenManifest.read(folder: golden).entries[0].gradientAtols.keys.sorted() == ["dk", "dq", "dv"])
        func write(_ c: GoldenCase, dk: TensorData? = nil, bshd: Bool = false, gradients: Bool = true) throws {
            var tensors = [("out", c.file["out_f32"]!), ("lse", c.file["lse_f32"]!)]
            if gradients {
                for n in ["dq", "dk", "dv"] {
                    let t = n == "dk" && dk != nil ? dk! : c.file["\(n)_f32"]!
                    tensors.append((n, bshd ? try TensorData(t.tensor().swappingAxes12(), dtype: .f32) : t))
                }
                if bshd { tensors[0].1 = try TensorData(c.file["out"]!.tensor().swappingAxes12(), dtype: .f32) }
            }
            try SafetensorsFile(tensors: tensors, metadata: bshd ? ["layout": "bshd"] : [:]).write(
                to: results + "/\(c.name).safetensors")
        }
        for c in cases { try write(c) }
        var rows = try GoldenChecker(goldenFolder: golden, results: results).run()
        #expect(rows.count == 5 * cases.count && rows.allSatisfy(\.passed))
        let c = cases[0]
        var dk = c.file["dk"]!.doubles()
        dk[5] += 1.5 * c.gradientTolerances![1].tolerance.atol
        try write(c, dk: TensorData(values: dk, shape: c.file["dk"]!.shape, dtype: .f64))
        rows = try GoldenChecker(goldenFolder: golden, results: results).run()
        #expect(rows.filter { !$0.passed }.map(\.tensor) == ["dk"])
        for c in cases { try write(c, bshd: true) }
        rows = try GoldenChecker(goldenFolder: golden, results: results).run()
        #expect(rows.allSatisfy(\.passed) && rows.contains { $0.tensor == "dv" && $0.note.contains("bshd") })
        for c in cases { try write(c, gradients: false) }
        #expect(
            try GoldenChecker(goldenFolder: golden, results: results).run().map(\.tensor)
                == Array(repeating: ["out", "lse"], count: 3).flatMap { $0 })
    }

    /// Same spec, same bytes (the gradients too): the backward golden path is deterministic.
    @Test func backwardCasesAreDeterministic() throws {
        let spec = Self.specs[0]
        #expect(
            try GoldenCase(spec: spec, dtype: .f16, backward: true).file.encode()
                == (try GoldenCase(spec: spec, dtype: .f16, backward: true).file.encode()))
    }
}
