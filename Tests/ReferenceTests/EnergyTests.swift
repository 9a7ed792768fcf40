import Foundation
import Testing

@testable import Reference

@Suite struct EnergyTests {
    static let cases = optionCases.filter { !$0.0.contains("extreme") }

    @Test(arguments: cases)
    func gradientAtZeroIsTheAttentionOutput(_ named: (String, NaiveOracle.Case)) throws {
        let c = named.1, x = c.inputs()
        let energy = try AttentionEnergy(inputs: x, options: c.options)
        let kernel = try ExactAttention.forward(x, options: c.options)
        #expect(relativeError(try energy.gradient().data, kernel.output.data) < 1e-12, "\(named.0)")
        #expect(relativeError(try energy.value().data, kernel.lse.data) < 1e-12, "\(named.0): F(0) is the LSE")
    }

    /// Central differences of F in every coordinate of zeta agree with the analytic gradient, at zeta = 0 and at a
    /// random zeta. Step 1e-5: truncation error ~h^2 F''' ~ 1e-10, rounding ~ eps/h ~ 1e-11.
    @Test func gradientMatchesCentralFiniteDifferences() throws {
        let c = NaiveOracle.Case(hq: 2, hkv: 1, sq: 3, sk: 6, d: 4, dv: 3, causal: .bottomRight, softcap: 3)
        let x = c.inputs()
        let energy = try AttentionEnergy(inputs: x, options: c.options)
        var g = SeededGenerator(seed: 5)
        let shape = [c.b, c.hq, c.sq, c.dv]
        for zeta in [
            Tensor<Double>(shape: shape, repeating: 0),
            try Tensor(shape: shape, data: g.normals(c.b * c.hq * c.sq * c.dv, std: 0.5)),
        ] {
            let analytic = try energy.gradient(zeta: zeta)
            let h = 1e-5
            for index in 0..<zeta.count {
                var plus = zeta, minus = zeta
                plus.data[index] += h
                minus.data[index] -= h
                let numeric = (try energy.total(zeta: plus) - energy.total(zeta: minus)) / (2 * h)
                #expect(abs(numeric - analytic.data[index]) < 1e-8, "coordinate \(index)")
            }
        }
    }

    /// F over the whole sequence equals the log-sum-exp of the shard energies, for even and uneven shards.
    @Test(arguments: [[7], [3, 4], [1, 0, 5, 1], [2, 2, 2, 1]])
    func energyOfTheWholeIsLogSumExpOfShards(_ sizes: [Int]) throws {
        let c = NaiveOracle.Case(sq: 4, sk: 7, causal: .bottomRight)
        let energy = try AttentionEnergy(inputs: c.inputs(), options: c.options)
        let whole = try energy.value()
        let layout = try ShardLayout(sizes: sizes)
        let shards = try layout.ranges.map { try energy.value(keys: $0) }
        for row in 0..<whole.count {
            let combined = AttentionEnergy.logSumExp(shards.map { $0.data[row] })
            #expect(abs(combined - whole.data[row]) < 1e-13 * max(1, abs(whole.data[row])))
        }
    }
}
