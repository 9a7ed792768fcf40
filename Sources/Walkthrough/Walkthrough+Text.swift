import Foundation
import Reference
import Simulator

extension Walkthrough {
    /// The walkthrough as the text `treeattn explain` prints: numbered steps with their formulas filled in.
    public var text: String {
        var lines: [String] = []
        func say(_ line: String = "") { lines.append(line) }
        let s = settings, d = s.headDim, n = s.tokens
        say(
            "1. One decoding query q and \(n) cached keys/values (head dim \(d), \(s.values == nil ? "seed \(s.seed)" : "typed values"))."
        )
        if s.causal {
            say(
                "   Causal: the query sits at position \(visibleKeys - 1) and does not see keys \(visibleKeys)...\(n - 1) (score -inf)."
            )
        }
        say("   q = \(Self.vector(query))")
        say("   key  score s_j = q.k_j / sqrt(\(d))   value v_j")
        for j in 0..<n {
            say("   \(String(format: "%3d", j))  \(Self.f(scores[j], 12))                \(Self.vector(values[j]))")
        }

        say("\n2. Exact attention: o = sum_j softmax(s)_j v_j.")
        say(
            "   max score m = \(Self.f(maxScore)), sum_j exp(s_j - m) = \(Self.f(expSum)), LSE = m + log(sum) = \(Self.f(lse))"
        )
        say("   o = \(Self.vector(output))   (BLAS kernel LSE \(Self.f(kernelLogSumExp)))")

        say("\n3. The energy view: F(zeta) = log sum_j exp(s_j + zeta.v_j). F(0) is the LSE and dF/dzeta at 0 is o.")
        say("   F(0) = \(Self.f(energy))")
        say("   component   analytic dF/dzeta   central difference (h = 1e-5)   |difference|")
        for c in 0..<d {
            let fd = centralDifference[c]
            say(
                "   \(String(format: "%9d", c))   \(Self.f(gradient[c], 17))   \(Self.f(fd, 30))   \(String(format: "%12.2e", abs(fd - gradient[c])))"
            )
        }

        say(
            "\n4. Split the keys over \(s.shards) devices. Each computes its own partial: max m_i, sum l_i, lse_i = m_i + log l_i, o_i."
        )
        say("   The chain rule on F = log sum_i exp(F_i) says o = sum_i exp(F_i - F) o_i: merging partials is exact.")
        say("   shard  keys      m_i       l_i       lse_i     o_i")
        for (i, shard) in shards.enumerated() {
            say(
                "   \(String(format: "%5d", i))  \(Self.keyRange(shard.keys).padding(toLength: 6, withPad: " ", startingAt: 0))\(Self.f(shard.max, 8))  \(Self.f(shard.sum, 8))  \(Self.f(shard.lse, 8))  \(Self.vector(shard.output))"
            )
        }
        say("   logsumexp of the shard energies = \(Self.f(shardEnergyLogSumExp)) = F(0) = \(Self.f(energy))")
        if let first = shards.first, first.blocks.count > 1 {
            say(
                "   FlashAttention builds a partial block by block (\(s.blockSize) key\(s.blockSize == 1 ? "" : "s") each); shard 0's running max m: "
                    + first.blocks.map { Self.f($0.max, 0) }.joined(separator: " -> ")
                    + "; each rise rescales l and the sum of exp(s_j - m) v_j by exp(m_old - m_new).")
        }

        let shape = (try? ReductionPlan.parseShape(s.tree)) ?? .binary
        say("\n5. Merge the partials up a \(shape) tree (depth \(depth)). Each merge of (o_a, l_a) and (o_b, l_b):")
        say("   m = max(l_a, l_b), w = exp(l - m), o = (w_a o_a + w_b o_b)/(w_a + w_b), l = m + log(w_a + w_b).")
        say("   logsumexp is associative, so any tree gives the same answer: O(N/p + log p) steps.\n")
        if let plan = try? ReductionPlan(leaves: s.shards, shape: shape) {
            let drawing = plan.drawing { level, node in
                let spans = plan.leaves(level: level, node: node).map { shards[$0].keys }.filter { $0[0] < $0[1] }
                let span = spans.isEmpty ? "no keys" : "keys \(spans.first![0])-\(spans.last![1] - 1)"
                let name = level == 0 ? "shard \(node)" : "merge L\(level).\(node)"
                return "\(name) [\(span)] lse = \(Self.f(nodeLogSumExp[level][node], 0))"
            }
            say(drawing.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        }
        for m in merges {
            say(
                "   L\(m.level).\(m.node): m = \(Self.f(m.max, 0)), weights "
                    + m.weights.map { Self.f($0, 0) }.joined(separator: ", ")
                    + " -> lse = \(Self.f(m.lse, 0))")
        }

        say("\n6. The result equals exact attention (f64):")
        say("   tree o        = \(Self.vector(treeOutput))   max |tree - exact| = \(String(format: "%.1e", treeError))")
        say(
            "   Algorithm 3   = \(Self.vector(algorithm3Output))   max |alg3 - exact| = \(String(format: "%.1e", algorithm3Error))"
        )
        say("   (Algorithm 3 is what the paper runs: one all-reduce of max(lse_i), then all-reduces of the sums")
        say("    n = sum_i o_i exp(lse_i - m) and d = sum_i exp(lse_i - m); z = n / d.)")
        say(
            "   Ring order from shard \(s.ringOwner): shards \(ring.map { String($0.shard) }.joined(separator: ", ")) folded one after another (\(ring.count) steps, the tree's depth is \(depth)):"
        )
        say(
            "   ring o        = \(Self.vector(ring.last!.output))   max |ring - exact| = \(String(format: "%.1e", ringError))"
        )

        if let k = sink { lines += sinkText(k) }
        if let b = backward { lines += backwardText(b, shape: shape) }
        lines += costText()
        return lines.joined(separator: "\n")
    }

    /// Steps 7 and 8.
    func backwardText(_ b: Backward, shape: ReductionPlan.Shape) -> [String] {
        let d = settings.headDim
        var lines: [String] = []
        func say(_ line: String) { lines.append(line) }
        say("\n7. The backward pass. A loss L sends back dO = dL/do = \(Self.vector(b.dO)).")
        say("   Nothing of size N x N is stored: p_j = exp(s_j - LSE) is recomputed from the forward's LSE, and")
        say("   D = dO . o = \(Self.f(b.delta)) is one number per query. Then, per key:")
        say(
            "   dv_j = p_j dO;  dS_j = p_j (dO . v_j - D);  dk_j = dS_j q / sqrt(\(d));  and dq = sum_j dS_j k_j / sqrt(\(d))."
        )
        say("   key      p_j    dO.v_j      dS_j    dk_j")
        for (j, k) in b.perKey.enumerated() {
            say(
                "   \(String(format: "%3d", j))  \(Self.f(k.p))  \(Self.f(k.dOv))  \(Self.f(k.dS))    \(Self.vector(k.dk))"
            )
        }
        say("   dq = \(Self.vector(b.dq))")
        say("   Energy view: L = dO . dF/dzeta, so every gradient of L is a second derivative of F (a Hessian-vector")
        say(
            "   product: dS_j is the covariance of s_j and dO . v under the softmax). Computed that way in plain loops,"
        )
        say("   max |energy - BLAS kernel| over dq, dk, dv = \(String(format: "%.1e", b.energyError)).")

        say("\n8. The tree-parallel backward. Every shard already has the global LSE (from the forward's tree) and D;")
        say("   from its own keys alone it computes their dk, dv (final: no other shard has those keys) and its share")
        say(
            "   of dq. The shares are summed up the same \(shape) tree: one more reduction, of d = \(d) numbers per query."
        )
        say("   shard  keys    dq share")
        for (i, share) in b.shardShares.enumerated() {
            say(
                "   \(String(format: "%5d", i))  \(Self.keyRange(shards[i].keys).padding(toLength: 6, withPad: " ", startingAt: 0))  \(Self.vector(share))"
            )
        }
        for sum in b.sums {
            say(
                "   L\(sum.level).\(sum.node) = sum of \(sum.children.map { sum.level == 1 ? "shard \($0)" : "L\(sum.level - 1).\($0)" }.joined(separator: " + ")) = \(Self.vector(sum.sum))"
            )
        }
        say("   max |tree-parallel - full backward| over dq, dk, dv = \(String(format: "%.1e", b.treeError))")
        say("   On a cluster: Tree all-reduces D (when dO is not replicated) and the dq shares; Ring passes K/V around")
        say("   the ring again and dK/dV with them (`treeattn simulate decode --backward`).")
        return lines
    }

    /// The last step: the same decode step at scale.
    func costText() -> [String] {
        let s = settings
        func time(_ ps: Int64?) -> String { ps.map { "\(SimTime(picoseconds: $0))" } ?? "-" }
        var lines = [
            "\n\(s.backward ? 9 : 7). The same step at scale: one decode query, N = \(s.seqLen) tokens, \(s.modelHeads) heads x \(s.modelHeadDim), bf16, on \(clusterName) (\(clusterDevices) GPUs), idealised (no overheads):"
        ]
        for c in costs {
            lines.append(
                "   \(c.strategy.padding(toLength: 5, withPad: " ", startingAt: 0)) latency \(time(c.latency))  compute \(time(c.compute))  communication \(time(c.communication))  sent per device \(String(format: "%.4g", c.elementsSentPerDevice)) elements"
            )
        }
        if s.backward {
            lines.append("   (a training step: the forward, then the backward)")
            for c in costs {
                lines.append(
                    "   \(c.strategy.padding(toLength: 5, withPad: " ", startingAt: 0)) forward alone \(time(c.forwardLatency)), backward alone \(time(c.backwardLatency)); elements sent per device: forward \(String(format: "%.4g", c.elementsSentPerDevice)), backward \(String(format: "%.4g", c.backwardElementsSentPerDevice ?? 0))"
                )
            }
        }
        lines.append(
            "   Tree moves only (o, lse) partials; Ring moves the K/V chunks. See `treeattn simulate decode --help`.")
        return lines
    }

    /// A number right-aligned in `width` characters, 4 decimals ("-inf" for minus infinity).
    static func f(_ x: Double, _ width: Int = 8) -> String {
        let s = x == -.infinity ? "-inf" : String(format: "%.4f", x)
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }

    /// A vector as "[ a b c ]" with 7-character entries.
    static func vector(_ xs: [Double]) -> String { "[" + xs.map { f($0, 7) }.joined(separator: " ") + " ]" }

    /// "first-last" of a [first, end) key range, "none" when empty.
    static func keyRange(_ keys: [Int]) -> String { keys[0] < keys[1] ? "\(keys[0])-\(keys[1] - 1)" : "none" }
}
