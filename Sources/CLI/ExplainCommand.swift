import ArgumentParser
import CLICommon
import Foundation
import Reference
import Simulator

/// `treeattn explain`: walks a learner through one tiny decode example, from scores to the tree merge, then shows
/// what the same step costs on a cluster.
struct ExplainCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Walk through Tree Attention on a tiny example: scores, energy, shards, the tree, the cost.")

    @Option(help: "Keys (tokens) in the example.") var tokens = 8
    @Option(help: "Shards (devices) the keys are split over.") var shards = 4
    @Option(help: "Head dimension of the example.") var headDim = 4
    @Option(help: "Random seed.") var seed: UInt64 = 7
    @Option(help: "Tree shape: binary, kary:K, two-level:G, flat.") var tree = "binary"
    @Option(help: "Cluster for the cost estimate (preset or file).") var cluster = "dgx-h100:1"
    @Option(help: "Sequence length for the cost estimate.") var seqLen = 640_000
    @Option(help: "Heads x head dim for the cost estimate, e.g. 16x128.") var model = "16x128"
    @Flag(help: "Also walk through the backward pass: dQ, dK, dV, and the tree-parallel backward over the shards.")
    var backward = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard (1...64).contains(tokens) else { throw CLIError("--tokens must be in 1...64 (a tiny, visible example)") }
        guard (1...16).contains(shards) else { throw CLIError("--shards must be in 1...16") }
        guard (1...16).contains(headDim) else { throw CLIError("--head-dim must be in 1...16") }
    }

    func run() throws {
        try explain(try ReductionPlan.parseShape(tree))
    }

    func f(_ x: Double, _ width: Int = 8) -> String {
        let s = x == -.infinity ? "-inf" : String(format: "%.4f", x)
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }

    func vector(_ xs: ArraySlice<Double>) -> String { "[" + xs.map { f($0, 7) }.joined(separator: " ") + " ]" }

    func explain(_ shape: ReductionPlan.Shape) throws {
        let d = headDim, n = tokens
        var g = SeededGenerator(seed: seed)
        let x = try AttentionInputs(q: Tensor(shape: [1, 1, 1, d], data: g.normals(d)),
                                    k: Tensor(shape: [1, 1, n, d], data: g.normals(n * d)),
                                    v: Tensor(shape: [1, 1, n, d], data: g.normals(n * d)))
        let scale = 1 / Double(d).squareRoot()
        let q = x.q.data[0..<d]
        let scores = (0..<n).map { j in scale * (0..<d).reduce(0.0) { $0 + x.q.data[$1] * x.k.data[j * d + $1] } }

        print("1. One decoding query q and \(n) cached keys/values (head dim \(d), seed \(seed)).")
        print("   q = \(vector(q))")
        print("   key  score s_j = q.k_j / sqrt(\(d))   value v_j")
        for j in 0..<n { print("   \(String(format: "%3d", j))  \(f(scores[j], 12))                \(vector(x.v.data[j * d..<(j + 1) * d]))") }

        let exact = try ExactAttention.forward(x)
        let m = scores.max()!
        let sum = scores.reduce(0.0) { $0 + Foundation.exp($1 - m) }
        print("\n2. Exact attention: o = sum_j softmax(s)_j v_j.")
        print("   max score m = \(f(m)), sum_j exp(s_j - m) = \(f(sum)), LSE = m + log(sum) = \(f(m + Foundation.log(sum)))")
        print("   o = \(vector(exact.output.data[0..<d]))   (BLAS kernel LSE \(f(exact.lse.data[0])))")

        print("\n3. The energy view: F(zeta) = log sum_j exp(s_j + zeta.v_j). F(0) is the LSE and dF/dzeta at 0 is o.")
        let energy = try AttentionEnergy(inputs: x)
        let grad = try energy.gradient().data
        print("   F(0) = \(f(try energy.value().data[0]))")
        print("   component   analytic dF/dzeta   central difference (h = 1e-5)   |difference|")
        for c in 0..<d {
            var zeta = Tensor<Double>(shape: [1, 1, 1, d], repeating: 0)
            zeta.data[c] = 1e-5
            let plus = try energy.value(zeta: zeta).data[0]
            zeta.data[c] = -1e-5
            let minus = try energy.value(zeta: zeta).data[0]
            let fd = (plus - minus) / 2e-5
            print("   \(String(format: "%9d", c))   \(f(grad[c], 17))   \(f(fd, 30))   \(String(format: "%12.2e", abs(fd - grad[c])))")
        }

        let layout = try ShardLayout(keys: n, shards: shards)
        let partials = try ShardedAttention.partials(x, options: AttentionOptions(), layout: layout)
        print("\n4. Split the keys over \(shards) devices. Each computes its own partial: max m_i, sum l_i, lse_i = m_i + log l_i, o_i.")
        print("   The chain rule on F = log sum_i exp(F_i) says o = sum_i exp(F_i - F) o_i: merging partials is exact.")
        print("   shard  keys      m_i       l_i       lse_i     o_i")
        for (i, range) in layout.ranges.enumerated() {
            let s = Array(scores[range])
            let mi = s.max() ?? -.infinity
            let li = s.reduce(0.0) { $0 + Foundation.exp($1 - mi) }
            let keys = range.isEmpty ? "none" : "\(range.lowerBound)-\(range.upperBound - 1)"
            print("   \(String(format: "%5d", i))  \(keys.padding(toLength: 6, withPad: " ", startingAt: 0))\(f(mi, 8))  \(f(li, 8))  \(f(partials[i].lse.data[0], 8))  \(vector(partials[i].output.data[0..<d]))")
        }
        let shardF = try layout.ranges.map { try energy.value(keys: $0).data[0] }
        print("   logsumexp of the shard energies = \(f(AttentionEnergy.logSumExp(shardF))) = F(0) = \(f(try energy.value().data[0]))")

        let plan = try ReductionPlan(leaves: shards, shape: shape)
        let trace = try TreeReduction.reduce(partials, plan: plan)
        print("\n5. Merge the partials up a \(shape) tree (depth \(plan.depth)). Each merge of (o_a, l_a) and (o_b, l_b):")
        print("   m = max(l_a, l_b), w = exp(l - m), o = (w_a o_a + w_b o_b)/(w_a + w_b), l = m + log(w_a + w_b).")
        print("   logsumexp is associative, so any tree gives the same answer: O(N/p + log p) steps.\n")
        let drawing = plan.drawing { level, node in
            let leaves = plan.leaves(level: level, node: node)
            let keys = leaves.compactMap { layout.ranges[$0].isEmpty ? nil : layout.ranges[$0] }
            let span = keys.isEmpty ? "no keys" : "keys \(keys.first!.lowerBound)-\(keys.last!.upperBound - 1)"
            let name = level == 0 ? "shard \(node)" : "merge L\(level).\(node)"
            return "\(name) [\(span)] lse = \(f(trace.levels[level][node].lse.data[0], 0))"
        }
        print(drawing.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        for (l, level) in plan.levels.enumerated().dropFirst() {
            for (node, children) in level.enumerated() where children.count > 1 {
                let ls = children.map { trace.levels[l - 1][$0].lse.data[0] }
                let mm = ls.max()!
                let ws = ls.map { $0 == -.infinity ? 0 : Foundation.exp($0 - mm) }
                print("   L\(l).\(node): m = \(f(mm, 0)), weights " + ws.map { f($0, 0) }.joined(separator: ", ")
                      + " -> lse = \(f(trace.levels[l][node].lse.data[0], 0))")
            }
        }

        let alg3 = try Algorithm3.combine(partials)
        let treeErr = zip(trace.result.output.data, exact.output.data).map { abs($0 - $1) }.max()!
        let a3Err = zip(alg3.output.data, exact.output.data).map { abs($0 - $1) }.max()!
        print("\n6. The result equals exact attention (f64):")
        print("   tree o        = \(vector(trace.result.output.data[0..<d]))   max |tree - exact| = \(String(format: "%.1e", treeErr))")
        print("   Algorithm 3   = \(vector(alg3.output.data[0..<d]))   max |alg3 - exact| = \(String(format: "%.1e", a3Err))")
        print("   (Algorithm 3 is what the paper runs: one all-reduce of max(lse_i), then all-reduces of the sums")
        print("    n = sum_i o_i exp(lse_i - m) and d = sum_i exp(lse_i - m); z = n / d.)")

        if backward { try explainBackward(x, scores: scores, lse: exact.lse.data[0], layout: layout, plan: plan, shape: shape) }
        try cost()
    }

    /// Step 7 of `--backward`: the gradients of L = dO . o, by hand, from the energy, and over the shards.
    func explainBackward(_ x: AttentionInputs<Double>, scores: [Double], lse: Double, layout: ShardLayout,
                         plan: ReductionPlan, shape: ReductionPlan.Shape) throws {
        let d = headDim, n = tokens, scale = 1 / Double(d).squareRoot()
        var g = SeededGenerator(seed: seed &+ 1)
        let dO = try Tensor(shape: [1, 1, 1, d], data: g.normals(d))
        let (forward, full) = try AttentionBackward.gradients(x, dO: dO)
        let o = forward.output.data
        let delta = (0..<d).reduce(0.0) { $0 + dO.data[$1] * o[$1] }
        print("\n7. The backward pass. A loss L sends back dO = dL/do = \(vector(dO.data[0..<d])).")
        print("   Nothing of size N x N is stored: p_j = exp(s_j - LSE) is recomputed from the forward's LSE, and")
        print("   D = dO . o = \(f(delta)) is one number per query. Then, per key:")
        print("   dv_j = p_j dO;  dS_j = p_j (dO . v_j - D);  dk_j = dS_j q / sqrt(\(d));  and dq = sum_j dS_j k_j / sqrt(\(d)).")
        print("   key      p_j    dO.v_j      dS_j    dk_j")
        for j in 0..<n {
            let p = Foundation.exp(scores[j] - lse)
            let dOv = (0..<d).reduce(0.0) { $0 + dO.data[$1] * x.v.data[j * d + $1] }
            print("   \(String(format: "%3d", j))  \(f(p))  \(f(dOv))  \(f(p * (dOv - delta)))    \(vector(full.dk.data[j * d..<(j + 1) * d]))")
        }
        print("   dq = \(vector(full.dq.data[0..<d]))")
        // The energy view: L(e) = d/de F(e dO) at 0; its derivatives are the Hessian-vector products of F.
        let energy = try AttentionEnergy(inputs: x).lossGradients(dO: dO)
        let energyError = zip(energy.dq.data + energy.dk.data + energy.dv.data, full.dq.data + full.dk.data + full.dv.data)
            .map { abs($0 - $1) }.max() ?? 0
        print("   Energy view: L = dO . dF/dzeta, so every gradient of L is a second derivative of F (a Hessian-vector")
        print("   product: dS_j is the covariance of s_j and dO . v under the softmax). Computed that way in plain loops,")
        print("   max |energy - BLAS kernel| over dq, dk, dv = \(String(format: "%.1e", energyError)).")

        let sharded = try ShardedBackward.backward(x, dO: dO, options: AttentionOptions(), layout: layout, reduction: .tree(shape))
        print("\n8. The tree-parallel backward. Every shard already has the global LSE (from the forward's tree) and D;")
        print("   from its own keys alone it computes their dk, dv (final: no other shard has those keys) and its share")
        print("   of dq. The shares are summed up the same \(shape) tree: one more reduction, of d = \(d) numbers per query.")
        print("   shard  keys    dq share")
        for (i, range) in layout.ranges.enumerated() {
            let keys = range.isEmpty ? "none" : "\(range.lowerBound)-\(range.upperBound - 1)"
            print("   \(String(format: "%5d", i))  \(keys.padding(toLength: 6, withPad: " ", startingAt: 0))  \(vector(sharded.shards[i].dq.data[0..<d]))")
        }
        if let levels = sharded.dqLevels {
            for (l, level) in plan.levels.enumerated().dropFirst() {
                for (node, children) in level.enumerated() where children.count > 1 {
                    print("   L\(l).\(node) = sum of \(children.map { l == 1 ? "shard \($0)" : "L\(l - 1).\($0)" }.joined(separator: " + ")) = \(vector(levels[l][node].data[0..<d]))")
                }
            }
        }
        let err = zip(sharded.gradients.dq.data + sharded.gradients.dk.data + sharded.gradients.dv.data,
                      full.dq.data + full.dk.data + full.dv.data).map { abs($0 - $1) }.max() ?? 0
        print("   max |tree-parallel - full backward| over dq, dk, dv = \(String(format: "%.1e", err))")
        print("   On a cluster: Tree all-reduces D (when dO is not replicated) and the dq shares; Ring passes K/V around")
        print("   the ring again and dK/dV with them (`treeattn simulate decode --backward`).")
    }

    func cost() throws {
        let parts = model.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw CLIError("--model needs HEADSxDIM, e.g. 16x128") }
        let c = try Cluster.resolve(cluster)
        let workload = try DecodeWorkload(sequenceLength: seqLen, heads: parts[0], headDim: parts[1])
        let reports = try DecodeModel(cluster: c, workload: workload, step: backward ? .training : .forward)
            .compare([.tree(collective: .tree), .ring(overlap: true)])
        print("\n\(backward ? 9 : 7). The same step at scale: one decode query, N = \(seqLen) tokens, \(parts[0]) heads x \(parts[1]), bf16, on \(c.name) (\(c.gpuCount) GPUs), idealised (no overheads):")
        for r in reports {
            print("   \(r.strategy.padding(toLength: 5, withPad: " ", startingAt: 0)) latency \(r.latency)  compute \(r.compute)  communication \(r.communication)  sent per device \(String(format: "%.4g", r.elementsSentPerDevice)) elements")
        }
        if backward {
            print("   (a training step: the forward, then the backward)")
            for r in reports {
                print("   \(r.strategy.padding(toLength: 5, withPad: " ", startingAt: 0)) forward alone \(r.forwardLatency.map { "\($0)" } ?? "-"), backward alone \(r.backwardLatency.map { "\($0)" } ?? "-"); elements sent per device: forward \(String(format: "%.4g", r.elementsSentPerDevice)), backward \(String(format: "%.4g", r.backwardElementsSentPerDevice ?? 0))")
            }
        }
        print("   Tree moves only (o, lse) partials; Ring moves the K/V chunks. See `treeattn simulate decode --help`.")
    }
}
