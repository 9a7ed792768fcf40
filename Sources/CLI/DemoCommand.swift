import ArgumentParser
import Foundation
import Reference

/// `treeattn demo`: the main job on embedded defaults, a short tour of everything the tool does.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "A short tour on embedded defaults: exact vs tree reductions, the energy view.")

    @Option var seed: UInt64 = 2024
    @Option(help: "Keys in the decode example.") var keys = 4096
    @Option(help: "Shards (devices) in the decode example.") var shards = 8

    func run() throws {
        print("== Tree Attention reference: one decode query over \(keys) keys split across \(shards) devices ==")
        var g = SeededGenerator(seed: seed)
        let (h, hkv, d) = (4, 2, 64)
        let x = try AttentionInputs(
            q: Tensor(shape: [1, h, 1, d], data: g.normals(h * d)),
            k: Tensor(shape: [1, hkv, keys, d], data: g.normals(hkv * keys * d)),
            v: Tensor(shape: [1, hkv, keys, d], data: g.normals(hkv * keys * d)))
        let exact = try ExactAttention.forward(x)
        let layout = try ShardLayout(keys: keys, shards: shards)
        print("exact attention (f64, BLAS): lse[head 0] = \(format(exact.lse.data[0]))")
        for reduction: Reduction in [.tree(.binary), .tree(.twoLevel(groupSize: 4)), .algorithm3, .ring] {
            let r = try ShardedAttention.forward(x, options: AttentionOptions(), layout: layout, reduction: reduction)
            let err = zip(r.result.output.data, exact.output.data).map { abs($0 - $1) }.max() ?? 0
            print("  \(reduction.description.padding(toLength: 12, withPad: " ", startingAt: 0)) max |O - O_exact| = \(format(err))")
        }
        print(try ReductionPlan(leaves: shards, shape: .binary).description)

        print("\n== The energy view: attention is the gradient of F(zeta) = log sum_a exp(s q.k_a + zeta.v_a) ==")
        let energy = try AttentionEnergy(inputs: x)
        let grad = try energy.gradient()
        let gradErr = zip(grad.data, exact.output.data).map { abs($0 - $1) }.max() ?? 0
        print("  max |dF/dzeta - O| = \(format(gradErr))")
        var zeta = Tensor<Double>(shape: [1, h, 1, d], repeating: 0)
        let step = 1e-5
        zeta.data[0] = step
        let fPlus = try energy.value(zeta: zeta).data[0]
        zeta.data[0] = -step
        let fMinus = try energy.value(zeta: zeta).data[0]
        print("  central difference dF/dzeta_0 = \(format((fPlus - fMinus) / (2 * step))), analytic = \(format(grad.data[0]))")
        let shardF = try layout.ranges.map { try energy.value(keys: $0).data[0] }
        print("  F = \(format(try energy.value().data[0])), logsumexp of the \(shards) shard energies = \(format(AttentionEnergy.logSumExp(shardF)))")
        print("\nNext: `treeattn attention --help`, `treeattn simulate --help`, README.md.")
    }

    func format(_ x: Double) -> String { String(format: "%.6g", x) }
}
