import Foundation
import Testing

@testable import Reference

/// Dropout (issue 27): the forward against the naive oracle's attention with a one-hot V (which reads P back), the
/// gradients against central differences of the loss, and the golden cases' files and refusals.
@Suite struct DropoutTests {
    static func inputs(dv: Int? = nil, seed: UInt64 = 3) throws -> AttentionInputs<Double> {
        var g = SeededGenerator(seed: seed)
        let (b, hq, hkv, sq, sk, d) = (1, 2, 1, 3, 5, 4)
        return try AttentionInputs(
            q: Tensor(shape: [b, hq, sq, d], data: g.normals(b * hq * sq * d)),
            k: Tensor(shape: [b, hkv, sk, d], data: g.normals(b * hkv * sk * d)),
            v: Tensor(shape: [b, hkv, sk, dv ?? d], data: g.normals(b * hkv * sk * (dv ?? d))))
    }

    /// O = (P M / (1 - p)) V with P the undropped softmax: with V the identity (one-hot rows), the oracle's output is
    /// P itself.
    @Test func theForwardIsTheMaskedRescaledSoftmax() throws {
        var x = try Self.inputs(dv: 5)
        x = try AttentionInputs(
            q: x.q, k: x.k, v: Tensor(shape: [1, 1, 5, 5], data: (0..<25).map { $0 / 5 == $0 % 5 ? 1 : 0 }))
        var g = SeededGenerator(seed: 11)
        let drop = try AttentionDropout(
            p: 0.3, keep: AttentionDropout.seededMask(shape: [1, 2, 3, 5], p: 0.3, generator: &g))
        #expect(drop.keep.data.contains(false) && drop.keep.data.contains(true))
        let energy = try AttentionEnergy(inputs: x, options: AttentionOptions(causal: .bottomRight))
        let got = try energy.partial(dropout: drop)
        let oracle = NaiveOracle.attention(
            NaiveOracle.Case(b: 1, hq: 2, hkv: 1, sq: 3, sk: 5, d: 4, dv: 5, causal: .bottomRight), x)
        for (n, p) in oracle.0.enumerated() {
            let want = drop.keep.data[n] ? p / 0.7 : 0
            #expect(abs(got.output.data[n] - want) <= 1e-15, "\(n)")
        }
        #expect(zip(got.lse.data, oracle.1).allSatisfy { abs($0 - $1) <= 1e-14 })
    }

    /// Every gradient entry against (L(x + h) - L(x - h)) / 2h of L = sum(dO * O) with the mask fixed.
    @Test func gradientsAreTheLossDerivative() throws {
        let x = try Self.inputs()
        var g = SeededGenerator(seed: 12)
        let drop = try AttentionDropout(
            p: 0.25, keep: AttentionDropout.seededMask(shape: [1, 2, 3, 5], p: 0.25, generator: &g))
        let dO = try Tensor(shape: [1, 2, 3, 4], data: g.normals(24))
        let options = AttentionOptions(window: SlidingWindow(left: 2, right: 1))
        func loss(_ y: AttentionInputs<Double>) throws -> Double {
            let o = try AttentionEnergy(inputs: y, options: options).partial(dropout: drop).output.data
            return zip(o, dO.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let grads = try AttentionEnergy(inputs: x, options: options).gradients(dO: dO, dropout: drop)
        let h = 1e-6
        for (which, analytic) in [(0, grads.dq), (1, grads.dk), (2, grads.dv)] {
            for e in 0..<analytic.count {
                func bumped(_ delta: Double) throws -> AttentionInputs<Double> {
                    var t = [x.q, x.k, x.v]
                    t[which].data[e] += delta
                    return try AttentionInputs(q: t[0], k: t[1], v: t[2])
                }
                let numeric = (try loss(bumped(h)) - loss(bumped(-h))) / (2 * h)
                #expect(abs(numeric - analytic.data[e]) <= 1e-8, "tensor \(which) entry \(e)")
            }
        }
        #expect(throws: ReferenceError.self) { try AttentionDropout(p: 1, keep: drop.keep) }
        #expect(throws: ReferenceError.self) {
            try AttentionEnergy(inputs: x, options: AttentionOptions(softcap: 5)).gradients(dO: dO, dropout: drop)
        }
    }

    /// The dropout suite's files: the mask is stored and keeps about 1 - p, the LSE is the undropped one, and the
    /// keys that do not fit a dropout case are refused.
    @Test func dropoutCasesCarryTheirMask() throws {
        let spec = GoldenCaseSpec(name: "d", heads: 2, seqQ: 6, seqK: 20, headDim: 8, seed: 4, dropoutP: 0.4)
        let c = try GoldenCase(spec: spec, dtype: .f32, backward: true)
        let mask = c.file["dropout_mask"]!
        #expect(mask.dtype == .bool && mask.shape == [1, 2, 6, 20])
        let kept = mask.doubles().reduce(0, +) / Double(mask.count)
        #expect(abs(kept - 0.6) < 0.15)
        var plain = spec
        plain.dropoutP = nil
        let undropped = try GoldenCase(spec: plain, dtype: .f32)
        #expect(c.file["lse"] == undropped.file["lse"] && c.file["q"] == undropped.file["q"])
        #expect(c.file["out"] != undropped.file["out"])
        #expect(c.gradientTolerances?.map(\.name) == ["dq", "dk", "dv"])
        for bad in [
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, dropoutP: 1),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, softcap: 10, dropoutP: 0.1),
            GoldenCaseSpec(name: "x", heads: 64, seqQ: 4096, seqK: 4096, headDim: 8, dropoutP: 0.1),
        ] {
            #expect(throws: ReferenceError.self) { try bad.validate() }
        }
    }
}
