import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 25, part 3: portable sin/cos and rotary embeddings, against the platform's libm, complex rotations written
/// here and Llama 3.1's published scaling.
@Suite struct RotaryTests {
    /// Within 2 ulps of the platform's sin/cos over angles up to a million radians (RoPE's position x frequency),
    /// exact at 0, odd and even, and NaN beyond the limit.
    @Test func portableSinCosAgreesWithLibm() {
        var g = SeededGenerator(seed: 11)
        var worst = 0.0
        for n in 0..<20_000 {
            let scale = [1.0, 10, 1e3, 1e5, PortableMath.sinCosLimit][n % 5]
            let x = (g.uniform() * 2 - 1) * scale
            let (s, c) = PortableMath.sinCos(x)
            let ulpS = max(Foundation.sin(x).magnitude.ulp, 0x1p-1074),
                ulpC = max(Foundation.cos(x).magnitude.ulp, 0x1p-1074)
            // Relative to the larger of the two outputs' ulps: near a zero of sin or cos the reduction's absolute
            // error (about ulp(pi/2) n 2^-99) dominates.
            let unit = max(ulpS, ulpC, 0x1p-60)
            worst = max(worst, abs(s - Foundation.sin(x)) / unit, abs(c - Foundation.cos(x)) / unit)
        }
        #expect(worst <= 2, "worst \(worst) ulps")
        #expect(PortableMath.sinCos(0) == (0, 1))
        let (s, c) = PortableMath.sinCos(0.7), (sm, cm) = PortableMath.sinCos(-0.7)
        #expect(s == -sm && c == cm)
        #expect(PortableMath.sinCos(PortableMath.sinCosLimit * 1.01).sin.isNaN)
        #expect(PortableMath.sinCos(.infinity).cos.isNaN)
    }

    /// Each pair (a, b) at position p becomes (a + i b) e^(i p f) (complex arithmetic written here), NeoX pairs
    /// (i, i + r/2), GPT-J pairs (2i, 2i + 1), features past the rotary dim unchanged; the inverse undoes it; dot
    /// products depend only on the position difference (RoPE's point).
    @Test(arguments: RotaryEmbedding.Layout.allCases)
    func rotationIsTheComplexProduct(_ layout: RotaryEmbedding.Layout) throws {
        let rope = RotaryEmbedding(layout: layout, rotaryDim: 6, theta: 500)
        var g = SeededGenerator(seed: 2)
        let x = try Tensor<Double>(shape: [1, 2, 3, 8], data: g.normals(48))
        let positions = [[5, 0, 1000]]
        let y = try rope.rotate(x, positions: positions)
        for h in 0..<2 {
            for s in 0..<3 {
                for i in 0..<3 {
                    let f = Foundation.pow(500.0, -Double(2 * i) / 6)
                    let angle = Double(positions[0][s]) * f
                    let (ia, ib) = layout == .neox ? (i, i + 3) : (2 * i, 2 * i + 1)
                    let (a, b) = (x[0, h, s, ia], x[0, h, s, ib])
                    #expect(abs(y[0, h, s, ia] - (a * Foundation.cos(angle) - b * Foundation.sin(angle))) < 1e-12)
                    #expect(abs(y[0, h, s, ib] - (b * Foundation.cos(angle) + a * Foundation.sin(angle))) < 1e-12)
                }
                for e in 6..<8 { #expect(y[0, h, s, e] == x[0, h, s, e]) }
            }
        }
        let back = try rope.rotate(y, positions: positions, inverse: true)
        #expect(relativeError(back.data, x.data) < 1e-14)
        // q at position p against k at position p': the same dot for (p, p') = (7, 3) and (1007, 1003).
        let q = try Tensor<Double>(shape: [1, 1, 1, 8], data: g.normals(8))
        let k = try Tensor<Double>(shape: [1, 1, 1, 8], data: g.normals(8))
        func dot(_ p: Int, _ pk: Int) throws -> Double {
            let a = try rope.rotate(q, positions: [[p]]), b = try rope.rotate(k, positions: [[pk]])
            return zip(a.data, b.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(abs(try dot(7, 3) - dot(1007, 1003)) < 1e-11)
    }

    /// Llama 3.1's scaling (meta-llama's apply_scaling, written out here): short wavelengths kept, long ones divided
    /// by 8, the band between blended; for Llama 3.1's head dim 128 and theta 500000.
    @Test func llama3ScalingFollowsTheReference() {
        let rope = RotaryEmbedding(layout: .neox, rotaryDim: 128, theta: 500_000, llama3: .init())
        let plain = RotaryEmbedding(layout: .neox, rotaryDim: 128, theta: 500_000).inverseFrequencies
        var kept = 0, divided = 0, blended = 0
        for (i, (got, base)) in zip(rope.inverseFrequencies, plain).enumerated() {
            let wavelength = 2 * Double.pi / base
            let want: Double
            if wavelength < 8192.0 / 4 {
                want = base
                kept += 1
            } else if wavelength > 8192.0 / 1 {
                want = base / 8
                divided += 1
            } else {
                let smooth = (8192 / wavelength - 1) / (4 - 1)
                want = (1 - smooth) * base / 8 + smooth * base
                blended += 1
            }
            #expect(abs(got - want) <= 4 * want.ulp, "pair \(i)")
            #expect(abs(base - Foundation.pow(500_000, -Double(2 * i) / 128)) <= 4 * base.ulp)
        }
        #expect(kept > 0 && divided > 0 && blended > 0)
    }

    @Test func badRotationsAreOneLineErrors() throws {
        let x = Tensor<Double>(shape: [1, 1, 2, 8], repeating: 1)
        for (rope, positions, text) in [
            (RotaryEmbedding(layout: .neox, rotaryDim: 5), [[0, 1]], "rotary dim must be even"),
            (RotaryEmbedding(layout: .neox, rotaryDim: 10), [[0, 1]], "at most the head dim (8)"),
            (RotaryEmbedding(layout: .gptj, rotaryDim: 8, theta: 1), [[0, 1]], "rope theta"),
            (RotaryEmbedding(layout: .gptj, rotaryDim: 8), [[0, -1]], "rotary position -1"),
            (RotaryEmbedding(layout: .gptj, rotaryDim: 8), [[0]], "rotary positions need"),
        ] {
            let error = #expect(throws: ReferenceError.self) { _ = try rope.rotate(x, positions: positions) }
            #expect(error.map { "\($0)".contains(text) } == true, "\(String(describing: error))")
        }
    }
}

/// The `rope` suite: the stored rotated q and k are the drawn ones rotated and rounded once; the goldens are the
/// kernel's attention of them; the gradients are the kernel's, taken back through the rotation's transpose.
@Suite struct RopeGoldenTests {
    @Test(arguments: GoldenSuite.rope.cases)
    func goldensAgreeWithTheKernel(_ spec: GoldenCaseSpec) throws {
        let dense = spec.goldenLayout == .dense
        let c = try GoldenCase(spec: spec, dtype: .bf16, backward: dense)
        let f = c.file
        let rope = try #require(try spec.rotary())
        let positions = (0..<spec.batch).map { spec.rotaryPositions(batch: $0) }
        let (qp, kp) = (positions.map(\.queries), positions.map(\.keys))
        let qRot = f["q_rotated"]!.tensor(), kRot = f["k_rotated"]!.tensor()
        #expect(qRot.data == (try rope.rotate(f["q"]!.tensor(), positions: qp)).data.map { Rounding.to(.bf16, $0) })
        if dense {
            #expect(kRot.data == (try rope.rotate(f["k"]!.tensor(), positions: kp)).data.map { Rounding.to(.bf16, $0) })
        }
        let x = try AttentionInputs(q: qRot, k: kRot, v: dense ? f["v"]!.tensor() : kRot.map { _ in 0 })
        guard dense else { return }
        let options = try spec.options(dtype: .bf16)
        let (forward, grads) = try AttentionBackward.gradients(x, dO: f["do"]!.tensor(), options: options)
        #expect(relativeError(f["out"]!.doubles(), forward.output.data) < 1e-12, "\(spec.name)")
        #expect(relativeError(f["lse"]!.doubles(), forward.lse.data) < 1e-12, "\(spec.name)")
        let dq = try rope.rotate(grads.dq, positions: qp, inverse: true)
        let dk = try rope.rotate(grads.dk, positions: kp, inverse: true)
        #expect(
            relativeError(f["dq"]!.doubles(), dq.data) < 1e-12 && relativeError(f["dk"]!.doubles(), dk.data) < 1e-12)
        #expect(relativeError(f["dv"]!.doubles(), grads.dv.data) < 1e-12)
        #expect(f.metadata["rope"]?.contains(rope.layout == .neox ? "GPT-NeoX halves" : "GPT-J interleaved") == true)
    }
}
