import Foundation
import Reference

extension Walkthrough {
    /// `explain --sinks`: gpt-oss's sink on the example. The sink is one more term of the log-sum-exp, a logit z with
    /// value 0: F = log(exp(z) + sum_j exp(s_j)). So it is one more partial (o = 0, lse = z) of the merge, and a tree
    /// stays exact when it merges that partial once (at the root); merged into every shard it would be counted p times.
    public struct Sink: Codable, Sendable {
        /// The sink logit z (a final score: not scaled).
        public var logit: Double
        /// The keys' own LSE (step 2's).
        public var lseWithout: Double
        /// log(exp(LSE) + exp(z)), by hand.
        public var lseWith: Double
        /// The energy F(0) with the sink as a term (`AttentionEnergy` with sinks), equal to `lseWith`.
        public var energy: Double
        /// The sink's share of the softmax, exp(z - lseWith): the weight no value receives.
        public var sinkWeight: Double
        /// Step 2's output scaled by exp(LSE - lseWith) = 1 - sinkWeight, by hand.
        public var scaledOutput: [Double]
        /// The BLAS kernel's output with the sink.
        public var output: [Double]
        /// The tree's root (the shards merged, no sink) merged once with (0, z): its output.
        public var treeOutput: [Double]
        /// Largest absolute difference between `treeOutput` and the kernel's `output`.
        public var treeError: Double
        /// The sink merged into every shard's partial before the tree (counted once per shard): its LSE.
        public var countedPerShardLSE: Double
        /// Largest absolute difference between that wrong result's output and the kernel's `output`.
        public var countedPerShardError: Double
    }

    /// The sink walk of inputs `x` (one query), with step 2's exact result, the shards' partials and the tree's root.
    static func sink(
        _ x: AttentionInputs<Double>, logit z: Double, options base: AttentionOptions, exact: AttentionPartial<Double>,
        partials: [AttentionPartial<Double>], root: AttentionPartial<Double>
    ) throws -> Sink {
        let d = x.headDim
        var options = base
        options.sinks = [z]
        let l = exact.lse.data[0]
        let m = max(l, z)
        let lseWith = m + Foundation.log(Foundation.exp(l - m) + Foundation.exp(z - m))
        let withSink = try ExactAttention.forward(x, options: options)
        let tree = try AttentionSinks.apply([z], to: root)
        let perShard = try TreeReduction.reduce(
            try partials.map { try AttentionSinks.apply([z], to: $0) },
            plan: ReductionPlan(leaves: partials.count, shape: .flat)
        ).result
        func error(_ a: [Double]) -> Double { zip(a, withSink.output.data).map { abs($0 - $1) }.max() ?? 0 }
        return Sink(
            logit: z, lseWithout: l, lseWith: lseWith,
            energy: try AttentionEnergy(inputs: x, options: options).value().data[0],
            sinkWeight: Foundation.exp(z - lseWith),
            scaledOutput: exact.output.data.map { $0 * Foundation.exp(l - lseWith) },
            output: Array(withSink.output.data[0..<d]), treeOutput: Array(tree.output.data[0..<d]),
            treeError: error(tree.output.data), countedPerShardLSE: perShard.lse.data[0],
            countedPerShardError: error(perShard.output.data))
    }

    /// Step 6b's text.
    func sinkText(_ k: Sink) -> [String] {
        var lines: [String] = []
        func say(_ line: String) { lines.append(line) }
        say(
            "\n6b. A sink (gpt-oss): one logit z = \(Self.f(k.logit, 0)) per head that joins the softmax and carries no value."
        )
        say("   It is one more term of the energy: F = log(exp(z) + sum_j exp(s_j)), a key whose value is 0.")
        say(
            "   LSE with the sink = log(exp(\(Self.f(k.lseWithout, 0))) + exp(\(Self.f(k.logit, 0)))) = \(Self.f(k.lseWith))"
                + "   (F(0) from the energy: \(Self.f(k.energy)))")
        say(
            "   The sink takes exp(z - LSE) = \(Self.f(k.sinkWeight, 0)) of the attention; o shrinks by 1 - that = exp(LSE_keys - LSE):"
        )
        say("   o x \(Self.f(1 - k.sinkWeight, 0)) = \(Self.vector(k.scaledOutput))")
        say("   kernel o     = \(Self.vector(k.output))")
        say("   As a partial the sink is (o = 0, lse = z): merge it ONCE, after the tree's root (or into one shard):")
        say(
            "   root + sink  = \(Self.vector(k.treeOutput))   max |difference| = \(String(format: "%.1e", k.treeError))"
        )
        say(
            "   merged into each of the \(settings.shards) shards instead, it counts \(settings.shards) times: lse \(Self.f(k.countedPerShardLSE, 0)), max |difference| = \(String(format: "%.1e", k.countedPerShardError))"
        )
        say("   Its gradient: dz = sum over rows of exp(z - LSE) (dlse - D) (`attention --sinks --dsinks`).")
        return lines
    }
}
