import Testing

@testable import Simulator

/// Issue 26, part 4: the context-parallel prefill strategies (ring, zigzag, striped, all-gather, pass-q) and the
/// decode ones people deploy (pass-q, all-gather), each against a closed form or an independent schedule.
struct PrefillTests {
    /// The rank holding token i, written from each placement's definition (not from its runs).
    static func owner(_ placement: PrefillPlacement, _ i: Int, ranks p: Int, tokens n: Int) -> Int {
        func chunkOf(_ i: Int, chunks m: Int) -> Int {
            // The even split: the first n mod m chunks one token longer.
            var start = 0
            for c in 0..<m {
                let size = n / m + (c < n % m ? 1 : 0)
                if i < start + size { return c }
                start += size
            }
            return m - 1
        }
        switch placement {
        case .contiguous: return chunkOf(i, chunks: p)
        case .zigzag:
            let c = chunkOf(i, chunks: 2 * p)
            return c < p ? c : 2 * p - 1 - c
        case .striped: return i % p
        }
    }

    /// Pair counts and token counts equal an enumeration of every (query, key) position pair, for every placement,
    /// even and uneven splits, with and without the causal mask; the causal pairs add up to n(n+1)/2.
    @Test(arguments: PrefillPlacement.allCases)
    func pairCountsMatchAnEnumeration(_ placement: PrefillPlacement) {
        for p in [1, 2, 3, 4, 5, 8] {
            for n in [p, p + 1, 2 * p - 1, 2 * p, 3 * p + 2, 37, 64] where n >= p {
                let own = (0..<n).map { Self.owner(placement, $0, ranks: p, tokens: n) }
                var causal = Array(repeating: Array(repeating: 0, count: p), count: p)
                for q in 0..<n { for k in 0...q { causal[own[q]][own[k]] += 1 } }
                var sum = 0
                for r in 0..<p {
                    #expect(placement.tokens(rank: r, ranks: p, tokens: n) == own.filter { $0 == r }.count)
                    for o in 0..<p {
                        let pairs = placement.visiblePairs(queries: r, keys: o, ranks: p, tokens: n, causal: true)
                        #expect(pairs == causal[r][o], "\(placement) p=\(p) n=\(n) r=\(r) o=\(o)")
                        sum += pairs
                        let all = placement.visiblePairs(queries: r, keys: o, ranks: p, tokens: n, causal: false)
                        #expect(all == own.filter { $0 == r }.count * own.filter { $0 == o }.count)
                    }
                    let seen = (0..<n).filter { own[$0] == r }.reduce(0) { $0 + $1 + 1 }
                    #expect(placement.visiblePairsOfAllKeys(queries: r, ranks: p, tokens: n, causal: true) == seen)
                }
                #expect(sum == n * (n + 1) / 2)
            }
        }
    }

    /// Zigzag's point: with n = 2pc, every rank's own block has c(c+1) + c^2 pairs and every other block 2c^2, on
    /// every rank; a contiguous ring's last rank has c'(c'+1)/2 + (p-1)c'^2 (c' = n/p) against rank 0's c'(c'+1)/2.
    @Test func zigzagGivesEveryRankTheSameWork() {
        let p = 4, c = 5, n = 2 * p * c
        for r in 0..<p {
            for o in 0..<p {
                let pairs = PrefillPlacement.zigzag.visiblePairs(queries: r, keys: o, ranks: p, tokens: n, causal: true)
                #expect(pairs == (r == o ? c * (c + 1) + c * c : 2 * c * c))
            }
        }
        let t = n / p
        let last = (0..<p).reduce(0) {
            $0 + PrefillPlacement.contiguous.visiblePairs(queries: p - 1, keys: $1, ranks: p, tokens: n, causal: true)
        }
        #expect(last == t * (t + 1) / 2 + (p - 1) * t * t)
        #expect(
            PrefillPlacement.contiguous.visiblePairs(queries: 0, keys: 0, ranks: p, tokens: n, causal: true)
                == t * (t + 1) / 2)
    }

    /// An overlapped ring's schedule written as a recurrence: rank r starts step s+1 when its block of step s is done
    /// and the chunk for it has arrived (sent by rank r-1 when it started step s, one hop earlier). `block(r, s)` is
    /// rank r's block at step s, `hop(o)` the hop of the chunk that started on rank o. Exact while a rank's
    /// consecutive sends do not overlap on its link (every block at least a hop, or every hop at least the blocks).
    static func ringSchedule(ranks p: Int, hop: (Int) -> Double, block: (Int, Int) -> Double) -> Double {
        var start = Array(repeating: 0.0, count: p)
        for s in 0..<max(p - 1, 0) {
            start = (0..<p).map { r in
                let prev = (r + p - 1) % p
                return max(start[r] + block(r, s), start[prev] + hop((prev - s + p) % p))
            }
        }
        return (0..<p).map { start[$0] + block($0, p - 1) }.max() ?? 0
    }

    /// 8 x 4096 tokens of a GQA layer (16 query heads, 4 K/V heads, d = 128, bf16).
    static func gqa(tokens n: Int = 8 * 4096) throws -> DecodeWorkload {
        try DecodeWorkload(sequenceLength: n, heads: 16, kvHeads: 4, headDim: 128)
    }

    static func context(_ cluster: Cluster, _ w: DecodeWorkload, causal: Bool = true) throws -> PrefillContext {
        PrefillContext(
            workload: w, options: DecodeOptions(), roofline: try Roofline(gpu: cluster.gpu), cluster: cluster,
            causal: causal)
    }

    /// Pass-KV rings (every placement, an even and an uneven split) against the recurrence, compute-bound (a fast
    /// mesh) and communication-bound (a slow one); zigzag against its closed form T_own + (p-1) max(T_half, a + S b).
    @Test(arguments: [PrefillStrategy.ring, .zigzag, .striped])
    func passKVRingsFollowTheirSchedule(_ strategy: PrefillStrategy) throws {
        let placement: PrefillPlacement = strategy == .ring ? .contiguous : strategy == .zigzag ? .zigzag : .striped
        for (n, bandwidth) in [(8 * 4096, 1e15), (8 * 4096 + 5, 1e15), (8 * 4096, 2e9), (8 * 4096 + 5, 2e9)] {
            let p = 8, a = 1e-6
            let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
            let w = try Self.gqa(tokens: n)
            let c = try Self.context(cluster, w)
            let tokens = (0..<p).map { c.tokens(placement, rank: $0) }
            func block(_ r: Int, _ s: Int) -> Double {
                let o = (r - s + p) % p
                let pairs = placement.visiblePairs(queries: r, keys: o, ranks: p, tokens: n, causal: true)
                return c.block(queries: tokens[r], keys: tokens[o], pairs: pairs).seconds
            }
            let expected = Self.ringSchedule(
                ranks: p, hop: { a + c.kvBytes(tokens: tokens[$0]) / bandwidth }, block: block)
            let r = try PrefillModel(cluster: cluster, workload: w).run(strategy)
            #expect(close(r.latency.seconds, expected, tolerance: 1e-6), "\(strategy) n=\(n) B=\(bandwidth)")
            #expect(r.visiblePairs == n * (n + 1) / 2)
            // Every rank sends p-1 chunks.
            let sent = (0..<p).reduce(0.0) { $0 + Double(p - 1) * c.kvBytes(tokens: tokens[$1]) } / Double(p)
            #expect(close(r.bytesSentPerDevice, sent, tolerance: 1e-12))
            if strategy == .zigzag && n % (2 * p) == 0 {
                let half = block(0, 1), own = block(0, 0), hop = a + c.kvBytes(tokens: n / p) / bandwidth
                #expect(close(r.latency.seconds, own + Double(p - 1) * max(half, hop), tolerance: 1e-6))
                #expect(r.imbalance == 1)
            }
        }
    }

    /// Causal contiguous chunks leave the last rank p blocks and rank 0 one: zigzag and striped beat the ring when
    /// compute dominates, and their work imbalance is near 1 while the ring's is (2p-1)/p-ish.
    @Test func balancedPlacementsBeatTheContiguousRing() throws {
        let cluster = try fullyConnected(8, bandwidth: 1e15, latency: .nanoseconds(100))
        let reports = try PrefillModel(cluster: cluster, workload: try Self.gqa()).compare([.ring, .zigzag, .striped])
        let t = 4096.0, p = 8.0
        #expect(close(reports[0].imbalance, (t * (t + 1) / 2 + (p - 1) * t * t) / (p * t * (p * t + 1) / 2 / p)))
        #expect(reports[1].imbalance == 1)
        #expect(reports[2].imbalance < 1.001)
        #expect(reports[1].speedupVsRing! > 1.7 && reports[2].speedupVsRing! > 1.7)
    }

    /// Llama 3's all-gather: (p-1)(a + S b) for S the K/V bytes of one rank's share (NCCL's ring all-gather on a
    /// mesh), then one kernel over every key its zigzag queries see; balanced.
    @Test func allGatherIsTheGatherThenOneKernel() throws {
        let p = 8, n = 8 * 4096, bandwidth = 50e9
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
        let c = try Self.context(cluster, try Self.gqa())
        let r = try PrefillModel(cluster: cluster, workload: try Self.gqa()).run(.allGather)
        let gather = Double(p - 1) * (1e-6 + c.kvBytes(tokens: n / p) / bandwidth)
        let pairs = PrefillPlacement.zigzag.visiblePairsOfAllKeys(queries: 0, ranks: p, tokens: n, causal: true)
        let attention = c.block(queries: n / p, keys: n, pairs: pairs).seconds
        #expect(close(r.latency.seconds, gather + attention, tolerance: 1e-6), "\(r.latency.seconds)")
        #expect(r.imbalance == 1)
        #expect(close(r.bytesSentPerDevice, Double(p - 1) * c.kvBytes(tokens: n / p), tolerance: 1e-12))
    }

    /// Pass-Q: the query ring (the recurrence with Q hops and the blocks' roles swapped), then the all-to-all of
    /// partials (on a mesh every pair has its own link: one a + S b), then the merge of p partials.
    @Test func passQIsAQueryRingThenAllToAllThenMerge() throws {
        let p = 8, n = 8 * 4096, bandwidth = 20e9, a = 1e-6
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
        let w = try Self.gqa()
        let c = try Self.context(cluster, w)
        let t = n / p
        let qBytes = Double(t * w.modelDim * w.elementBytes)
        func block(_ r: Int, _ s: Int) -> Double {
            let o = (r - s + p) % p
            let pairs = PrefillPlacement.zigzag.visiblePairs(queries: o, keys: r, ranks: p, tokens: n, causal: true)
            return c.block(queries: t, keys: t, pairs: pairs).seconds
        }
        let ring = Self.ringSchedule(ranks: p, hop: { _ in a + qBytes / bandwidth }, block: block)
        var rows = w
        rows.batch = t
        let merge = c.roofline.merge(partials: p, rows).seconds
        let r = try PrefillModel(cluster: cluster, workload: w).run(.passQ)
        #expect(
            close(r.latency.seconds, ring + a + c.partialBytes(tokens: t) / bandwidth + merge, tolerance: 1e-6),
            "\(r.latency.seconds)")
        #expect(close(r.bytesSentPerDevice, Double(p - 1) * (qBytes + c.partialBytes(tokens: t)), tolerance: 1e-12))
        #expect(r.visiblePairs == n * (n + 1) / 2)
    }

    /// Meta's rule: for a full prefill with GQA, Q (n_h d_h per token) outweighs K/V (n_kv (d_h + d_v)), so pass-KV
    /// sends less than pass-Q. Without GQA the query hop is half the K/V hop, but the partials returned in fp32
    /// (n_h d_v + n_h per token) make pass-Q's total (d e + 4 (d + n_h)) / (2 d e) of pass-KV's.
    @Test func passQSendsMoreThanPassKVInAFullPrefill() throws {
        let cluster = try fullyConnected(4, bandwidth: 50e9, latency: .microseconds(1))
        let gqa = try DecodeWorkload(sequenceLength: 4 * 1024, heads: 128, kvHeads: 8, headDim: 128)
        let r = try PrefillModel(cluster: cluster, workload: gqa).compare([.zigzag, .passQ])
        #expect(r[1].bytesSentPerDevice > 4 * r[0].bytesSentPerDevice)
        let mha = try DecodeWorkload(sequenceLength: 4 * 1024, heads: 8, headDim: 128)
        let m = try PrefillModel(cluster: cluster, workload: mha).compare([.zigzag, .passQ])
        let d = 8.0 * 128
        #expect(
            close(m[1].bytesSentPerDevice / m[0].bytesSentPerDevice, (2 * d + 4 * (d + 8)) / (4 * d), tolerance: 1e-12))
    }

    /// Without the causal mask every placement does the same work: n^2 pairs, imbalance 1 for even splits.
    @Test func nonCausalPrefillIsBalancedEverywhere() throws {
        let cluster = try fullyConnected(4, bandwidth: 50e9, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: 4096, heads: 8, headDim: 64)
        for r in try PrefillModel(cluster: cluster, workload: w, causal: false).compare(PrefillStrategy.allCases) {
            #expect(r.visiblePairs == 4096 * 4096, "\(r.strategy)")
            #expect(r.imbalance == 1, "\(r.strategy)")
        }
    }

    /// Refusals: a latent (MLA) cache, fewer tokens than GPUs, an unknown strategy.
    @Test func badPrefillsAreRefused() throws {
        let cluster = try fullyConnected(4, bandwidth: 50e9, latency: .microseconds(1))
        let mla = try DecodeWorkload(
            sequenceLength: 4096, heads: 128, kvHeads: 1, headDim: 576, valueDim: 512, latentKV: true)
        #expect(throws: SimulatorError.self) { try PrefillModel(cluster: cluster, workload: mla) }
        let short = try DecodeWorkload(sequenceLength: 3, heads: 8, headDim: 64)
        #expect(throws: SimulatorError.self) { try PrefillModel(cluster: cluster, workload: short) }
        #expect(throws: SimulatorError.self) { try PrefillStrategy.parse("zig-zag") }
        #expect(try PrefillStrategy.parse("pass-q") == .passQ)
    }

    /// Decode, all-gather: (p-1)(a + S b) of the cache's shares, then flash-decode over all N tokens on every rank.
    @Test func allGatherDecodeIsTheCacheGatherThenFullDecode() throws {
        let p = 8, n = 8 * 50_000, bandwidth = 50e9
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: n, heads: 16, kvHeads: 4, headDim: 128)
        let roof = try Roofline(gpu: cluster.gpu)
        let share = w.kvElements(tokens: n / p) * Double(w.elementBytes)
        let r = try DecodeModel(cluster: cluster, workload: w).run(.allGather)
        let expected = Double(p - 1) * (1e-6 + share / bandwidth) + roof.flashDecode(tokens: n, w).seconds
        #expect(close(r.latency.seconds, expected, tolerance: 1e-6), "\(r.latency.seconds) vs \(expected)")
        #expect(throws: SimulatorError.self) { try DecodeStrategy.allGather.program.backward() }
    }

    /// Decode, pass-Q with b/p query rows per rank: T + (p-1) max(T, a + S_Q b) (uniform blocks and hops), one
    /// all-to-all of partials, one merge; elements sent (p-1)/p (b d + b (n_h d_v + n_h)).
    @Test func passQDecodeMatchesItsClosedForm() throws {
        let p = 8, n = 8 * 50_000, bandwidth = 50e9, a = 1e-6
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: n, batch: 16, heads: 16, kvHeads: 4, headDim: 128)
        var rows = w
        rows.batch = 2
        let roof = try Roofline(gpu: cluster.gpu)
        let local = roof.flashDecode(tokens: n / p, rows).seconds
        let hop = a + Double(2 * w.modelDim * w.elementBytes) / bandwidth
        let returned = a + rows.partialElements * Double(w.partialElementBytes) / bandwidth
        let expected = local + Double(p - 1) * max(local, hop) + returned + roof.merge(partials: p, rows).seconds
        let r = try DecodeModel(cluster: cluster, workload: w).run(.passQ)
        #expect(close(r.latency.seconds, expected, tolerance: 1e-6), "\(r.latency.seconds) vs \(expected)")
        let elements = Double(p - 1) / Double(p) * (Double(16 * w.modelDim) + w.partialElements)
        #expect(close(r.elementsSentPerDevice, elements, tolerance: 1e-12))
        #expect(try DecodeStrategy.parse("pass-q") == .passQ && DecodeStrategy.passQ.description == "pass-q")
    }

    /// Decode pass-Q with fewer query rows than ranks: the ranks that own none send empty chunks and run no kernel
    /// for them (no launch cost), so the step is that of the two owners' chunks.
    @Test func passQDecodeWithFewerRowsThanRanks() throws {
        let cluster = try fullyConnected(8, bandwidth: 50e9, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: 8 * 50_000, batch: 2, heads: 16, kvHeads: 4, headDim: 128)
        var options = DecodeOptions()
        options.kernelLaunch = .microseconds(5)
        let r = try DecodeModel(cluster: cluster, workload: w, options: options).run(.passQ)
        #expect(r.notes.contains { $0.contains("6 ranks own no query") })
        // Each rank decodes the two owners' single rows (2 kernels) and merges only if it owns a row: compute per
        // rank is 2 flash-decodes of one row (+ a merge on the owners), never 8.
        var one = w
        one.batch = 1
        let roof = try options.roofline(gpu: cluster.gpu)
        let decode = roof.flashDecode(tokens: 50_000, one).seconds
        #expect(r.compute.seconds < 3 * decode + roof.merge(partials: 8, one).seconds)
        #expect(r.compute.seconds >= 2 * decode)
    }
}
