import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 25, part 2: DeepSeek's multi-head latent attention. The projections against plain loops written here, the
/// naive and absorbed forms against each other (kernel and energy), the `mla` suite's goldens against the kernel.
@Suite struct MLATests {
    static func inputs(
        b: Int = 2, h: Int = 3, sq: Int = 2, sk: Int = 9, n: Int = 6, r: Int = 4, l: Int = 10, dv: Int = 5,
        seed: UInt64 = 3
    ) throws -> MultiHeadLatentAttention.Inputs {
        var g = SeededGenerator(seed: seed)
        func t(_ shape: [Int], _ s: Double = 1) throws -> Tensor<Double> {
            try Tensor(shape: shape, data: g.normals(shape.reduce(1, *), std: s))
        }
        return try MultiHeadLatentAttention.Inputs(
            qNope: t([b, h, sq, n]), qPe: t([b, h, sq, r]), latent: t([b, sk, l]), kPe: t([b, sk, r]),
            wUK: t([h, n, l], 0.3), wUV: t([h, dv, l], 0.3))
    }

    @Test func deepSeekV3ScaleIsTheModels() {
        // 192^-0.5 (0.1 ln 40 + 1)^2, with the platform's log: the same value to the last bits.
        let mscale = 0.1 * Foundation.log(40.0) + 1
        #expect(abs(MultiHeadLatentAttention.deepSeekV3Scale - mscale * mscale / 192.0.squareRoot()) < 1e-16)
        #expect(abs(MultiHeadLatentAttention.deepSeekV3Scale - 0.1352338) < 1e-7)
    }

    /// The naive form's K and V are W_UK c and W_UV c per head (plain loops), with k_pe shared by the heads.
    @Test func naiveProjectionsAreThePerHeadProducts() throws {
        let x = try Self.inputs()
        let naive = try MultiHeadLatentAttention.naive(x)
        #expect(naive.q.shape == [2, 3, 2, 10] && naive.k.shape == [2, 3, 9, 10] && naive.v.shape == [2, 3, 9, 5])
        for b in 0..<2 {
            for h in 0..<3 {
                for j in 0..<9 {
                    for e in 0..<6 {
                        let want = (0..<10).reduce(0.0) { $0 + x.wUK[h, e, $1] * x.latent[b, j, $1] }
                        #expect(abs(naive.k[b, h, j, e] - want) < 1e-13)
                    }
                    for e in 0..<4 { #expect(naive.k[b, h, j, 6 + e] == x.kPe[b, j, e]) }
                    for e in 0..<5 {
                        let want = (0..<10).reduce(0.0) { $0 + x.wUV[h, e, $1] * x.latent[b, j, $1] }
                        #expect(abs(naive.v[b, h, j, e] - want) < 1e-13)
                    }
                }
            }
        }
    }

    /// q_abs . [c | k_pe] = q_nope . W_UK c + q_pe . k_pe, so both forms give the same attention: the absorbed
    /// form's latent output through W_UV equals the naive output, in the BLAS kernel and the energy formulation, with
    /// masks (causal, cache lengths with an empty row) and at DeepSeek-V3's dimensions.
    @Test(arguments: [false, true])
    func bothFormsGiveTheSameOutput(_ deepSeekDims: Bool) throws {
        let x =
            deepSeekDims
            ? try Self.inputs(b: 1, h: 2, sq: 2, sk: 20, n: 128, r: 64, l: 512, dv: 128, seed: 9)
            : try Self.inputs()
        let sk = x.latent.shape[1]
        let options = AttentionOptions(
            scale: MultiHeadLatentAttention.deepSeekV3Scale, causal: .bottomRight,
            cacheSeqlens: deepSeekDims ? nil : [sk, 0])
        let naive = try ExactAttention.forward(try MultiHeadLatentAttention.naive(x), options: options)
        let absorbedInputs = try MultiHeadLatentAttention.absorbed(x)
        #expect(absorbedInputs.kvHeads == 1 && absorbedInputs.valueDim == x.latent.shape[2])
        let absorbed = try ExactAttention.forward(absorbedInputs, options: options)
        let projected = try MultiHeadLatentAttention.project(latentOutput: absorbed.output, wUV: x.wUV)
        #expect(relativeError(projected.data, naive.output.data) < 1e-12)
        #expect(relativeError(absorbed.lse.data, naive.lse.data) < 1e-12)
        let energy = try AttentionEnergy(inputs: absorbedInputs, options: options).partial()
        #expect(relativeError(energy.output.data, absorbed.output.data) < 1e-12)
        // The values are the cache rows' first L entries.
        #expect(
            absorbedInputs.v.data
                == (try MultiHeadLatentAttention.latentValues(absorbedInputs.k, latentDim: x.latent.shape[2])).data)
    }

    /// The naive form's input gradients (`MultiHeadLatentAttention.gradients`) against central finite differences
    /// of L = sum(dO * out) through the projections, for every input (q_nope, q_pe, c, k_pe, W_UK, W_UV), with a
    /// causal mask and an empty row.
    @Test func latentGradientsMatchFiniteDifferences() throws {
        let x = try Self.inputs(b: 2, h: 2, sq: 3, sk: 5, n: 3, r: 2, l: 4, dv: 3, seed: 11)
        let options = AttentionOptions(scale: 0.4, causal: .bottomRight, cacheSeqlens: [5, 0])
        var g = SeededGenerator(seed: 12)
        let dO = try Tensor(shape: [2, 2, 3, 3], data: g.normals(36))
        func loss(_ x: MultiHeadLatentAttention.Inputs) throws -> Double {
            let out = try AttentionEnergy(inputs: try MultiHeadLatentAttention.naive(x), options: options).partial()
            return zip(out.output.data, dO.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let grads = try AttentionEnergy(inputs: try MultiHeadLatentAttention.naive(x), options: options)
            .lossGradients(dO: dO)
        let chain = try MultiHeadLatentAttention.gradients(x, dq: grads.dq, dk: grads.dk, dv: grads.dv)
        let fields: [(String, WritableKeyPath<MultiHeadLatentAttention.Inputs, Tensor<Double>>, Tensor<Double>)] = [
            ("q_nope", \.qNope, chain.dqNope), ("q_pe", \.qPe, chain.dqPe), ("c", \.latent, chain.dLatent),
            ("k_pe", \.kPe, chain.dkPe), ("w_uk", \.wUK, chain.dwUK), ("w_uv", \.wUV, chain.dwUV),
        ]
        for (name, path, analytic) in fields {
            #expect(analytic.shape == x[keyPath: path].shape, "\(name)")
            var worst = 0.0
            for e in 0..<analytic.count {
                let h = 1e-5
                var (plus, minus) = (x, x)
                plus[keyPath: path].data[e] += h
                minus[keyPath: path].data[e] -= h
                let fd = (try loss(plus) - loss(minus)) / (2 * h)
                worst = max(worst, abs(fd - analytic.data[e]) / max(1, abs(fd)))
            }
            #expect(worst < 1e-7, "d\(name): finite differences differ by \(worst)")
            #expect(analytic.data.contains { abs($0) > 1e-3 }, "d\(name) is not all zero")
        }
    }

    @Test(arguments: GoldenSuite.mla.cases)
    func goldensAgreeWithTheKernel(_ spec: GoldenCaseSpec) throws {
        let c = try GoldenCase(spec: spec, dtype: .bf16)
        let f = c.file
        let options = try spec.options(dtype: .bf16)
        #expect(options.scale == MultiHeadLatentAttention.deepSeekV3Scale)
        let kernel: AttentionPartial<Double>
        if spec.mla == "naive" {
            let x = try MultiHeadLatentAttention.Inputs(
                qNope: f["q_nope"]!.tensor(), qPe: f["q_pe"]!.tensor(), latent: f["c_kv"]!.tensor(),
                kPe: f["k_pe"]!.tensor(), wUK: f["w_uk"]!.tensor(), wUV: f["w_uv"]!.tensor())
            kernel = try ExactAttention.forward(try MultiHeadLatentAttention.naive(x), options: options)
            let latent = try ExactAttention.forward(try MultiHeadLatentAttention.absorbed(x), options: options)
            #expect(relativeError(f["out_latent"]!.doubles(), latent.output.data) < 1e-12)
            let projected = try MultiHeadLatentAttention.project(latentOutput: f["out_latent"]!.tensor(), wUV: x.wUV)
            #expect(relativeError(projected.data, f["out"]!.doubles()) < 1e-12)
        } else if spec.goldenLayout == .paged {
            let cache = try PagedKVCache(
                kPages: f["k_cache"]!.tensor(), vPages: f["v_cache"]!.tensor(), layout: .nhd,
                blockTable: Self.rows(f["block_table"]!), cacheSeqlens: f["cache_seqlens"]!.doubles().map { Int($0) })
            let (k, v) = try cache.dense(capacity: spec.seqK, fill: 0)
            kernel = try ExactAttention.forward(try AttentionInputs(q: f["q"]!.tensor(), k: k, v: v), options: options)
        } else {
            let k = f["k"]!.tensor()
            #expect(f["v"]!.doubles() == (try MultiHeadLatentAttention.latentValues(k, latentDim: 512)).data)
            kernel = try ExactAttention.forward(
                try AttentionInputs(q: f["q"]!.tensor(), k: k, v: f["v"]!.tensor()), options: options)
        }
        #expect(relativeError(f["out"]!.doubles(), kernel.output.data) < 1e-12, "\(spec.name)")
        #expect(relativeError(f["lse"]!.doubles(), kernel.lse.data) < 1e-12, "\(spec.name)")
        #expect(c.outputTolerance.atol > 0 && c.outputTolerance.atol < 0.05, "\(spec.name) \(c.outputTolerance.atol)")
        #expect(f.metadata["mla"]?.contains(spec.mla == "naive" ? "naive form" : "absorbed form") == true)
    }

    static func rows(_ t: TensorData) -> [[Int]] {
        let values = t.doubles().map { Int($0) }
        return (0..<t.shape[0]).map { Array(values[$0 * t.shape[1]..<($0 + 1) * t.shape[1]]) }
    }

    @Test func badMLACasesAreRefused() {
        let refused: [(GoldenCaseSpec, String)] = [
            (
                .init(name: "x", heads: 2, kvHeads: 2, seqQ: 1, seqK: 4, headDim: 576, valueDim: 512, mla: "absorbed"),
                "kv_heads 1"
            ),
            (.init(name: "x", seqQ: 1, seqK: 4, headDim: 576, valueDim: 500, mla: "absorbed"), "head_dim = value_dim"),
            (.init(name: "x", seqQ: 1, seqK: 4, headDim: 192, valueDim: 128, mla: "latent"), "unknown mla"),
            (.init(name: "x", seqQ: 1, seqK: 4, headDim: 192, valueDim: 128, ropeDim: 32), "need mla"),
            (
                .init(
                    name: "x", heads: 2, seqQ: 1, seqK: 4, headDim: 192, valueDim: 128, cacheSeqlens: [4],
                    layout: "paged", pageSize: 2, mla: "naive"), "is dense"
            ),
            (.init(name: "x", seqQ: 1, seqK: 4, headDim: 192, valueDim: 128, sinks: [1, 2], mla: "naive"), "no sinks"),
        ]
        for (spec, text) in refused {
            let error = #expect(throws: ReferenceError.self) { try spec.validate() }
            #expect(error.map { "\($0)".contains(text) } == true, "\(String(describing: error))")
        }
    }
}
