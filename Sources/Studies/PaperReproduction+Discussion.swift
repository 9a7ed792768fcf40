import Foundation
import Simulator

/// The prose of docs/paper-reproduction.md that interprets the numbers. Every number in it is interpolated from
/// the results, so the text stays true when the model changes; the reasoning is ours and is labelled as such.
extension PaperReproduction {
    func figure3Discussion(_ fig3: [Figure3Point]) -> String {
        guard let last = fig3.last, let first8 = fig3.first(where: { $0.gpus == 8 }) else { return "" }
        // A fixed per-step cost X added to both methods gives (ring + X) / (tree + X) = 8 at this point.
        let x = (last.calibratedRing - Self.figure3PaperSpeedup * last.calibratedTree) / (Self.figure3PaperSpeedup - 1)
        let grows = zip(fig3.filter { $0.gpus == 128 }, fig3.filter { $0.gpus == 128 }.dropFirst()).allSatisfy {
            $1.idealSpeedup > $0.idealSpeedup
        }
        return """
            **Reading.** The trends match the paper: Tree's time is nearly flat in N at 64 and 128 GPUs (its local \
            chunk shrinks as p grows and the all-reduces carry ~8 KB), Ring's grows linearly with N (each hop carries a \
            K/V chunk of 2 t d elements), and the speedup grows with N and p (idealised speedup at 128 GPUs \
            \(grows ? "grows monotonically" : "does not grow monotonically") with N). The magnitude does not: at 128 \
            GPUs and 5.12M the idealised model predicts \(Self.speed(last.idealSpeedup)) and the calibrated one \
            \(Self.speed(last.calibratedSpeedup)), against the paper's ~8x. The calibrated overheads add only \
            ~\(Self.seconds(last.calibratedTree - last.idealTree)) to Tree, because a decode step makes only a handful \
            of kernel launches and three collective calls; Ring's \(Self.seconds(last.calibratedRing)) is dominated by \
            p sequential hops of a \(Self.fmt(2.0 * Double(last.sequenceLength / last.gpus) * 2048 * 2 / 1e6, 0)) MB \
            chunk, the cross-node ones over one 400 Gb/s NIC.

            **Why the gap, and why we do not close it.** A fixed cost X per measured step, paid by both methods, would \
            give (ring + X) / (tree + X) = 8 at X = \(Self.seconds(x)). That is four orders of magnitude above the \
            anchors' per-call costs (launch 3-5 us, NCCL base 6.6-14 us), so it cannot come from the operations \
            Algorithm 3 performs. It can come from what the timing includes (next paragraph) or from a faster Ring \
            than one NIC per hop (e.g. several rails per cross-node hop). Fitting X to the one number we compare \
            against would be a per-row fudge, so the table shows the overheads we can justify and leaves the gap \
            visible. At 8 GPUs (one node, NVLink only) the calibrated speedup is \
            \(Self.speed(first8.calibratedSpeedup)) at 80k, closer to the paper's scale because Ring's hops are fast \
            there.

            \(compileTimeDiscussion(x))
            """
    }

    /// What the public Fig. 3 scripts time, and our measured compile times as an order-of-magnitude check of the
    /// fixed cost `x` (seconds) derived above. The measurement is a stated constant, not computed here.
    func compileTimeDiscussion(_ x: Double) -> String {
        let m = Self.figure3CompileTime
        let lo = Double(min(m.treeCompileMs, m.ringCompileMs)) / 1e3,
            hi = Double(max(m.treeCompileMs, m.ringCompileMs)) / 1e3
        return """
            **What the Fig. 3 timing includes.** The public scripts for Fig. 3's single-block decode are \
            `tree_shard_test.py` and `ring_shard_test.py` in github.com/Zyphra/tree_attention (added in the commit \
            "code to replicate experiments"). Each defines its decode as a `jax.jit` of a `shard_map` over all devices \
            (`tree_decode`: local flash attention, then pmax of the LSE and psums of numerator and denominator; \
            `ring_decode`: flash_attn_jax's `ring_fwd`, K/V passed with ppermute), builds Q, K, V with a jitted \
            `make_data`, and then, in `__main__`, times with `time.time()` exactly one call of the decode ending in \
            `block_until_ready()`: no earlier call, no warm-up, one call per process (the sequence length is set in \
            the file). That call is the first call of a jitted function, so it traces, lowers and XLA-compiles the \
            program before running it (on GPUs the first run of the collectives also sets up the NCCL \
            communicators); a steady-state decode step pays none of this, and the simulator above contains none of \
            it. As an order-of-magnitude check, `\(m.command)` (numpy and jax only) builds our own shard_map tree \
            decode (flash-decode partials, then pmax and psums, Algorithm 3) and ring decode (K/V blocks passed with \
            ppermute over p-1 hops, online softmax) on \(m.devices) host CPU devices, scaled down to \(m.setting), \
            checks both against an exact NumPy decode, and times them in \(m.processes) fresh processes. Measured on \
            \(m.date) (\(m.cpu), \(m.cores) cores shared with other jobs, jax \(m.jax); reruns vary by tens of \
            percent), medians, tree / ring: lowering + compilation alone \(m.treeCompileMs) / \(m.ringCompileMs) ms; \
            first call (trace, compile and run, as the scripts time it) \(m.treeFirstCallMs) / \(m.ringFirstCallMs) \
            ms; warm call \(m.treeWarmMs) / \(m.ringWarmMs) ms (\(m.devices) emulated devices on \(m.cores) cores, so \
            the warm times, the ring's emulated ppermutes above all, say nothing about GPUs). Compilation alone is \
            \(Self.fmt(lo / x, 1))-\(Self.fmt(hi / x, 1)) times the X = \(Self.seconds(x)) derived above, the same \
            order of magnitude, so a first-call timing can hold a fixed cost of that size. This is a plausibility \
            check, not a fit and not a measurement of the paper's setting: XLA's GPU compiler, a 128-GPU program and \
            the paper's flash-attention custom calls compile differently from our CPU programs, so CPU compile time \
            is only an order-of-magnitude proxy for GPU compile time, and the two methods' compile times need not be \
            equal as a single X assumes.
            """
    }

    /// Per layer and decode step, the Ring-minus-Tree time implied by the paper's totals (the prefill is the same
    /// code for both, so it cancels) and the same difference in our calibrated model.
    func impliedDecodeGap(_ platform: Platform, _ pt: TablePoint) -> (paper: Double, calibrated: Double) {
        let steps = Double(pt.calibrated.tree.decodeSteps * platform.model.layers)
        return (
            (pt.paper.ring - pt.paper.tree) / steps,
            pt.calibrated.ring.decodeAttentionPerLayer.seconds - pt.calibrated.tree.decodeAttentionPerLayer.seconds
        )
    }

    func tableDiscussion(_ platform: Platform, _ points: [TablePoint]) -> String {
        var lines: [String] = []
        lines.append(
            "Ring minus Tree per layer per decode step: implied by the paper ((ring - tree) / (9 steps x \(platform.model.layers) layers); the prefill cancels) vs calibrated:"
        )
        lines.append("")
        lines.append(
            "| N | paper implied | calibrated | paper / calibrated | idealised prefill (lower bound) | paper tree total |"
        )
        lines.append("|---|---|---|---|---|---|")
        for pt in points {
            let g = impliedDecodeGap(platform, pt)
            lines.append(
                "| \(Self.tokens(pt.paper.promptTokens)) | \(Self.seconds(g.paper)) | \(Self.seconds(g.calibrated)) | \(Self.fmt(g.paper / g.calibrated)) | \(Self.fmt(pt.ideal.tree.prefill.seconds, 3)) s | \(Self.fmt(pt.paper.tree)) s |"
            )
        }
        lines.append("")
        let ratios = points.map { impliedDecodeGap(platform, $0) }.map { $0.paper / $0.calibrated }
        let below = points.filter { $0.paper.tree < $0.ideal.tree.prefill.seconds }
        var text = "**Reading.** "
        if let lo = ratios.min(), let hi = ratios.max() {
            text +=
                "The paper's Ring costs \(Self.fmt(lo))-\(Self.fmt(hi))x our calibrated Ring-minus-Tree decode time per layer. "
            if lo > 1.5 {
                text +=
                    "Our Ring is bandwidth-bound at \(Self.fmt(calibration.linkEfficiency * 100, 0))% of the links; the measured one is several times slower than the links allow, so it pays costs our model does not contain (in the paper's code: a host synchronisation `.item()` per layer, allocation of the receive buffers, K and V sent as separate NCCL calls, padding copies of the expanded K/V), and Tree/Ring comes out too small. "
            } else if hi < 0.67 {
                text += "Our Ring is slower than the measured one. "
            } else {
                text += "Here the measured Ring is close to link-bandwidth bound, as modelled. "
            }
        }
        if !below.isEmpty {
            text +=
                "The paper's Tree total at \(below.map { Self.tokens($0.paper.promptTokens) }.joined(separator: ", ")) is below our idealised prefill alone (causal ring attention of the public code at 100% of peak FLOP/s on the busiest rank), so that measurement cannot include a full prefill of that code; the calibrated prefill, and the Tree/Ring ratio with it, cannot match there. "
        }
        let short = points.filter { $0.calibrated.tree.total.seconds < 0.75 * $0.paper.tree }
        if !short.isEmpty {
            text +=
                "At \(short.map { Self.tokens($0.paper.promptTokens) }.joined(separator: ", ")) our Tree total is well below the paper's: the measurement holds fixed costs (framework dispatch of hundreds of small ops per forward, warm-up, allocator) that no anchor number covers. "
        }
        lines.append(text)
        return lines.joined(separator: "\n")
    }

    func summaryDiscussion(fig3: [Figure3Point], tables: [(Platform, [TablePoint])]) -> String {
        """
        What the simulator reproduces: the qualitative results (Tree flat in N, Ring linear in N, speedup growing \
        with N and p, Ring's peak memory ~2x Tree's with the exact memory gaps), and the MI300X rows where the measured \
        Ring is link-bound. What it does not: the size of the H100 and RTX 4090 speedups, and Fig. 3's 8x. In every \
        case the measured Ring is slower than bandwidth allows, or the measured Tree slower than its operations \
        allow, by costs that are properties of the benchmark code and timing rather than of the algorithms. We \
        state them above instead of fitting per-row parameters. To explore them, rerun the model with other \
        overheads: `treeattn sweep ... --collective-call-us 150000` adds a fixed cost per collective call, \
        `--per-message-us` per ring hop, `--eta-mem` / `--eta-compute` the roofline efficiencies (docs/sweep.md).
        """
    }
}
