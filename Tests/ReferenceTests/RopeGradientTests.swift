import Foundation
import Testing
import TreeCore

@testable import Reference

/// The rope backward: the gradients of the unrotated q and k (the rotated ones taken back through the rotation's
/// transpose) against central differences of the forward through the rotation.
@Suite struct RopeGradientTests {
    @Test(arguments: RotaryEmbedding.Layout.allCases)
    func unrotatedGradientsAgreeWithFiniteDifferences(_ layout: RotaryEmbedding.Layout) throws {
        let rope = RotaryEmbedding(layout: layout, rotaryDim: 6, theta: 1000)
        var g = SeededGenerator(seed: 21)
        let x = try AttentionInputs(
            q: Tensor(shape: [1, 2, 4, 8], data: g.normals(64)), k: Tensor(shape: [1, 1, 6, 8], data: g.normals(48)),
            v: Tensor(shape: [1, 1, 6, 5], data: g.normals(30)))
        let dO = try Tensor<Double>(shape: [1, 2, 4, 5], data: g.normals(40))
        let qp = [(0..<4).map { $0 + 2 }], kp = [Array(0..<6)]
        let options = AttentionOptions(causal: .bottomRight)
        func loss(_ y: AttentionInputs<Double>) throws -> Double {
            let r = try ExactAttention.forward(
                try AttentionInputs(
                    q: rope.rotate(y.q, positions: qp), k: rope.rotate(y.k, positions: kp), v: y.v), options: options)
            return zip(r.output.data, dO.data).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let rotated = try AttentionInputs(
            q: rope.rotate(x.q, positions: qp), k: rope.rotate(x.k, positions: kp), v: x.v)
        let grads = try AttentionBackward.gradients(rotated, dO: dO, options: options).gradients
        let dq = try rope.rotate(grads.dq, positions: qp, inverse: true)
        let dk = try rope.rotate(grads.dk, positions: kp, inverse: true)
        let (eq, ek, ev) = (g.normals(64), g.normals(48), g.normals(30))
        func moved(_ h: Double) throws -> AttentionInputs<Double> {
            try AttentionInputs(
                q: Tensor(shape: x.q.shape, data: zip(x.q.data, eq).map { $0 + h * $1 }),
                k: Tensor(shape: x.k.shape, data: zip(x.k.data, ek).map { $0 + h * $1 }),
                v: Tensor(shape: x.v.shape, data: zip(x.v.data, ev).map { $0 + h * $1 }))
        }
        let h = 1e-5
        let fd = (try loss(moved(h)) - loss(moved(-h))) / (2 * h)
        var analytic = CompensatedSum()
        for (a, b) in zip(dq.data, eq) { analytic.add(a * b) }
        for (a, b) in zip(dk.data, ek) { analytic.add(a * b) }
        for (a, b) in zip(grads.dv.data, ev) { analytic.add(a * b) }
        #expect(abs(fd - analytic.value) < 1e-7 * max(1, abs(fd)), "\(fd) vs \(analytic.value)")
        // Without the transpose (the rotated gradients taken as the unrotated ones) the check fails.
        var wrong = CompensatedSum()
        for (a, b) in zip(grads.dq.data, eq) { wrong.add(a * b) }
        for (a, b) in zip(grads.dk.data, ek) { wrong.add(a * b) }
        for (a, b) in zip(grads.dv.data, ev) { wrong.add(a * b) }
        #expect(abs(fd - wrong.value) > 1e-4)
    }
}
