import Foundation
import Testing

@testable import Simulator

@Suite("Decode strategies")
struct DecodeTests {
    /// The paper's example: b=1, d=2048 (16 heads x 128), p=8, N=640k.
    func paperModel(_ options: DecodeOptions = DecodeOptions()) throws -> DecodeModel {
        let w = try DecodeWorkload(
            sequenceLength: 640_000, batch: 1, heads: 16, kvHeads: 16, headDim: 128, dtype: "bf16")
        var o = options
        o.collective.segments = 1
        return try DecodeModel(cluster: try ClusterPreset.dgxH100(servers: 1).build(), workload: w, options: o)
    }

    @Test func paperVolumesExample() throws {
        let m = try paperModel()
        let vTree = 2.0 * 7 / 8 * (2048 + 2 * 16)  // 3,640
        let vRing = 2.0 * 1 * 80_000 * 2048 * 8  // 2.62e9
        #expect(vTree == 3640)
        #expect(close(vRing, 2.62e9, tolerance: 1e-3))
        #expect(m.paperVolume(.tree(collective: .ring), p: 8) == vTree)
        #expect(m.paperVolume(.ring(overlap: true), p: 8) == vRing)
    }

    @Test func simulatedTreeVolumeEqualsVTree() throws {
        // With ring all-reduces each device sends 2(p-1)/p of every buffer: b n_h + b d + b n_h elements.
        let r = try paperModel().run(.tree(collective: .ring))
        #expect(close(r.elementsSentPerDevice, 3640))
        #expect(r.paperVolumeElements == 3640)
    }

    @Test func simulatedRingVolumeEqualsVRing() throws {
        // The sequential ring (p hops) sends 2 b t d per hop per device: 2 b t d p = V_ring.
        let seq = try paperModel().run(.ring(overlap: false))
        #expect(close(seq.elementsSentPerDevice, 2.0 * 80_000 * 2048 * 8))
        // The overlapped ring makes only p-1 hops.
        let overlapped = try paperModel().run(.ring(overlap: true))
        #expect(close(overlapped.elementsSentPerDevice, 2.0 * 80_000 * 2048 * 7))
    }

    @Test func ringOverlapMatchesClosedForm() throws {
        // T_local + (p-1) max(T_local, a + S b) on a mesh (one hop per transfer).
        let cluster = try fullyConnected(4, bandwidth: 50e9, latency: .nanoseconds(800))
        let w = try DecodeWorkload(sequenceLength: 400_000, batch: 1, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: cluster, workload: w)
        let t = 100_000.0
        let kvBytes = 2 * t * 16 * 128 * 2
        let extra: Double = 2048 * 2 + 2064 * 4
        let local: Double = (kvBytes + extra) / 3.35e12  // roofline: memory bound on an H100
        let hop = 800e-9 + kvBytes / 50e9
        let expected = local + 3 * max(local, hop)
        let r = try m.run(.ring(overlap: true))
        #expect(close(r.latency.seconds, expected), "\(r.latency.seconds) vs \(expected)")
        let seq = try m.run(.ring(overlap: false))
        #expect(close(seq.latency.seconds, 4 * (local + hop)))
    }

    @Test func treeDecodeIsLocalPlusThreeAllReduces() throws {
        let cluster = try fullyConnected(8, bandwidth: 50e9, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: 800_000, batch: 1, heads: 16, headDim: 128)
        var o = DecodeOptions()
        o.collective.segments = 1
        let r = try DecodeModel(cluster: cluster, workload: w, options: o).run(.tree(collective: .recursiveDoubling))
        let kv: Double = 2 * 100_000.0 * 2048 * 2
        let extra: Double = 2048 * 2 + 2064 * 4
        let local: Double = (kv + extra) / 3.35e12
        func small(_ elements: Double) -> Double { 3 * (1e-6 + elements * 4 / 50e9) }  // log2 8 exchanges
        let rescale: Double = 2 * 2064 * 4 / 3.35e12
        let divide: Double = 2 * 2048 * 4 / 3.35e12
        var expected = local + small(16) + rescale
        expected += small(2048) + small(16) + divide
        #expect(close(r.latency.seconds, expected), "\(r.latency.seconds) vs \(expected)")
        // Breakdown adds up.
        var sum = r.compute + r.communication
        sum += r.overhead + r.idle
        #expect(close(sum.seconds, r.latency.seconds))
    }

    // The H100 roofline of the small workloads below (b = 1, 16 heads x 128, bf16, 100 tokens per GPU so that local
    // kernels do not hide the communication terms at 0.1%): every kernel is memory bound.
    static let hbm = 3.35e12
    /// One partial: b d + b n_h = 2064 fp32 elements.
    static let partialElements = 2064.0
    /// Flash-decode over t tokens: K/V (2 t d bf16) + q (d bf16) + the fp32 partial written.
    static func local(tokens t: Double) -> Double { (2 * t * 2048 * 2 + 2048 * 2 + partialElements * 4) / hbm }
    /// Merging k partials: read k, write one.
    static func merge(_ k: Double) -> Double { (k + 1) * partialElements * 4 / hbm }

    @Test func passPartialsIsAChainOfHops() throws {
        // Every rank finishes its local kernel at T_local; the partial then hops p-1 times (a + S/B each, its own
        // link on the mesh) with a two-partial merge on each receiving rank: T_local + (p-1)(a + S/B + T_merge(2)).
        let p = 4, bandwidth = 50e9
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .nanoseconds(100))
        let w = try DecodeWorkload(sequenceLength: 400, batch: 1, heads: 16, headDim: 128)
        let r = try DecodeModel(cluster: cluster, workload: w).run(.passPartials)
        let partialBytes = Self.partialElements * 4
        let expected = Self.local(tokens: 100) + 3 * (100e-9 + partialBytes / bandwidth + Self.merge(2))
        #expect(close(r.latency.seconds, expected), "\(r.latency.seconds) vs \(expected)")
        // p-1 partials cross one mesh link each.
        #expect(r.messages == p - 1)
        #expect(r.bytesPerLinkClass.map(\.name) == ["mesh"])
        #expect(close(r.bytesPerLinkClass[0].bytes, 3 * partialBytes))
        #expect(close(r.elementsSentPerDevice, 3 * Self.partialElements / 4))
        // Memory: stored K/V, q, output, 2 b n_h statistics and the partial received.
        #expect(r.peakMemoryElements == 2 * 100 * 2048 + 2 * 2048 + 2 * 16 + Self.partialElements)
        #expect(r.paperVolumeElements == nil && r.paperPeakMemoryElements == nil)
    }

    @Test func gatherIsOneHopThenAMergeOfAllPartials() throws {
        let p = 4, bandwidth = 50e9
        let w = try DecodeWorkload(sequenceLength: 400, batch: 1, heads: 16, headDim: 128)
        let partialBytes = Self.partialElements * 4
        // Full mesh: every sender has its own link into rank 0, so the p-1 partials arrive together after a + S/B;
        // rank 0 then merges all p: T_local + a + S/B + T_merge(p).
        let mesh = try DecodeModel(
            cluster: try fullyConnected(p, bandwidth: bandwidth, latency: .nanoseconds(100)), workload: w
        )
        .run(.gatherToOne)
        let meshExpected = Self.local(tokens: 100) + 100e-9 + partialBytes / bandwidth + Self.merge(4)
        #expect(close(mesh.latency.seconds, meshExpected), "\(mesh.latency.seconds) vs \(meshExpected)")
        #expect(close(mesh.bytesPerLinkClass[0].bytes, 3 * partialBytes))
        #expect(close(mesh.elementsSentPerDevice, 3 * Self.partialElements / 4))
        // Star: the p-1 partials share rank 0's one inbound link (incast, B/(p-1) each) after two hops:
        // T_local + 2a + (p-1) S/B + T_merge(p); each message crosses two links.
        let incast = try DecodeModel(
            cluster: try star(p, bandwidth: bandwidth, latency: .nanoseconds(100)), workload: w
        )
        .run(.gatherToOne)
        let incastExpected = Self.local(tokens: 100) + 200e-9 + 3 * partialBytes / bandwidth + Self.merge(4)
        #expect(close(incast.latency.seconds, incastExpected), "\(incast.latency.seconds) vs \(incastExpected)")
        #expect(close(incast.bytesPerLinkClass[0].bytes, 2 * 3 * partialBytes))
        #expect(close(incast.elementsSentPerDevice, 3 * Self.partialElements / 4))
        // Rank 0 holds its K/V, q, output and all p partials.
        #expect(mesh.peakMemoryElements == 2 * 100 * 2048 + 2 * 2048 + 4 * Self.partialElements)
    }

    @Test func hierarchicalTreeDecodeMatchesTheTwoLevelForm() throws {
        // 2 servers x g GPUs; fast links inside a server, slow ones across. Each all-reduce of n bytes: ring
        // reduce-scatter and all-gather inside each server, 2(g-1)(a1 + n/(g B1)), plus the all-reduce of the n/g shard
        // between the two servers' GPUs of the same index: ring 2 a2 + (n/g)/B2, NCCL tree of two ranks 2(a2 + (n/g)/B2).
        let g = 4, b1 = 400e9, a1 = 100e-9, b2 = 50e9, a2 = 500e-9
        let cluster = try twoServerMesh(
            gpusPerServer: g, intra: (b1, .nanoseconds(100)), inter: (b2, .nanoseconds(500)))
        let w = try DecodeWorkload(sequenceLength: 800, batch: 1, heads: 16, headDim: 128)
        let model = try DecodeModel(cluster: cluster, workload: w)
        let buffers: [Double] = [16 * 4, 2048 * 4, 16 * 4]  // max, numerator, denominator, fp32
        let G = Double(g)
        func intra(_ n: Double) -> Double { 2 * (G - 1) * (a1 + n / (G * b1)) }
        let rescale = 2 * Self.partialElements * 4 / Self.hbm, divide = 2 * 2048.0 * 4 / Self.hbm
        for (inner, interTime) in [
            (CollectiveAlgorithm.ring, { (n: Double) in 2 * a2 + n / G / b2 }),
            (.tree, { (n: Double) in 2 * (a2 + n / G / b2) }),
        ] {
            let r = try model.run(.tree(collective: .hierarchical(inter: inner)))
            let expected =
                Self.local(tokens: 100) + rescale + divide + buffers.map { intra($0) + interTime($0) }.reduce(0, +)
            #expect(close(r.latency.seconds, expected), "\(inner): \(r.latency.seconds) vs \(expected)")
            // Inside the servers every GPU sends 2(g-1) chunks of n/g; across, the n/g shard once each way per pair.
            let total = buffers.reduce(0, +)
            let bytes = Dictionary(uniqueKeysWithValues: r.bytesPerLinkClass.map { ($0.name, $0.bytes) })
            #expect(close(bytes["intra"] ?? 0, 2 * 2 * (G - 1) * total), "\(inner): \(bytes)")
            #expect(close(bytes["inter"] ?? 0, 2 * total), "\(inner): \(bytes)")
            #expect(close(r.elementsSentPerDevice, (4 * (G - 1) + 2) * total / 8 / 4))
        }
    }

    @Test func causalKVRingMatchesClosedForms() throws {
        // The prefill use of the K/V ring: K and V as two messages per hop, a diagonal block at step 0, full blocks
        // for earlier ranks' chunks, nothing for later ones. Rank p-1 computes at every step.
        let p = 4, bandwidth = 50e9
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
        let hop = 1e-6 + 2e6 / bandwidth  // both messages of a hop, back to back on one link: a + 2M/B
        func makespan(diagonal: SimTime, full: SimTime) throws -> ExecutionResult {
            let ring = try KVRingProgram(
                ranks: p, overlap: true, messagesPerChunk: 2, chunkBytes: Array(repeating: 2e6, count: p),
                blocks: .causal(diagonal: diagonal, full: full))
            return try Execution(recording: true).run([ring], on: cluster)
        }
        // Compute bound (blocks longer than a hop): rank p-1 never waits, D + (p-1) F.
        let computeBound = try makespan(diagonal: .microseconds(50), full: .microseconds(100))
        #expect(close(computeBound.makespan.seconds, 50e-6 + 3 * 100e-6), "\(computeBound.makespan.seconds)")
        // Communication bound: rank 0's chunk reaches rank p-1 after p-1 hops, then one full block.
        let commBound = try makespan(diagonal: .nanoseconds(1), full: .nanoseconds(2))
        #expect(close(commBound.makespan.seconds, 3 * hop + 2e-9), "\(commBound.makespan.seconds) vs \(3 * hop)")
        // 2 messages per hop, p-1 hops per rank; rank r computes r+1 blocks.
        #expect(commBound.messages == 2 * p * (p - 1))
        #expect(close(commBound.bytesSent.reduce(0, +), Double(2 * p * (p - 1)) * 1e6))
        let blocks = commBound.activities.filter { $0.kind == .compute }
        #expect(blocks.count == p * (p + 1) / 2)
        #expect(blocks.filter { $0.label == "causal block" }.count == p)
    }

    @Test func paperPeakMemoryFormulas() throws {
        let m = try paperModel()
        let t = 80_000.0, b = 1.0, d = 2048.0, nh = 16.0
        #expect(m.paperMemory(.ring(overlap: true), p: 8) == 4 * b * t * d + 2 * b * d)
        #expect(m.paperMemory(.tree(collective: .tree), p: 8) == 2 * b * t * d + 2 * b * d + 2 * b * nh)
        let tree = try m.run(.tree(collective: .tree)), ring = try m.run(.ring(overlap: true))
        #expect(tree.peakMemoryElements == m.paperMemory(.tree(collective: .tree), p: 8))
        #expect(ring.peakMemoryElements == m.paperMemory(.ring(overlap: true), p: 8))
        // The paper's 2 x RTX 4090 gap: t = 64k (64,000), bf16, d = 2048 -> about 2 b t d elements * 2 B = 524 MB.
        let rtx = try DecodeModel(
            cluster: try ClusterPreset.rtx4090PCIe(gpus: 2).build(),
            workload: try DecodeWorkload(sequenceLength: 128_000, heads: 16, headDim: 128))
        let ringMemory: Double = try #require(rtx.paperMemory(.ring(overlap: true), p: 2))
        let treeMemory: Double = try #require(rtx.paperMemory(.tree(collective: .tree), p: 2))
        let gapMB: Double = (ringMemory - treeMemory) * 2 / 1e6
        #expect(close(gapMB, 524.288, tolerance: 1e-3))
    }

    @Test func treeBeatsRingAtScaleAndAlternativesRun() throws {
        let w = try DecodeWorkload(sequenceLength: 1_280_000, batch: 1, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: try ClusterPreset.dgxH100(servers: 2).build(), workload: w)
        let reports = try m.compare([
            .tree(collective: .tree), .ring(overlap: true), .passPartials, .gatherToOne, .singleGPU,
            .tree(collective: .nccl(algorithm: nil)), .tree(collective: .hierarchical(inter: .tree)),
        ])
        let tree = reports[0], ring = reports[1]
        #expect(tree.latency < ring.latency)
        #expect(try #require(tree.speedupVsRing) > 10)
        #expect(ring.speedupVsRing == 1)
        // Pinned (picoseconds): any change to the model shows here first; PinnedOutputTests pins the breakdowns.
        // (The NCCL tree: NCCL's own NVLink speed, 370.8 GB/s on H100, since issue 26; NCCL 2.30's protocol
        // bandwidths (tree LL busBw x 0.92 / 3.8, not x 0.92 / 4) and the calibrated pipeline fill moved it from
        // 291_598_471.)
        #expect(
            reports.map(\.latency.picoseconds) == [
                218_301_666, 196_806_079_298, 199_312_171, 199_442_154, 3_130_081_299, 291_830_025, 205_100_526,
            ])
        #expect(reports[4].gpus == 1)
        // Speedups are against the overlapped ring, found by value; without it in the list nothing else runs, unless
        // the baseline is asked for.
        for r in reports { #expect(r.speedupVsRing == ring.latency.seconds / r.latency.seconds) }
        let withoutRing = try m.compare([.passPartials, .ring(overlap: false)], recording: false)
        #expect(withoutRing.map(\.strategy) == ["pass-partials", "ring-sequential"])
        #expect(withoutRing.allSatisfy { $0.speedupVsRing == nil })
        let withBaseline = try m.compare([.passPartials, .ring(overlap: false)], recording: false, baseline: true)
        for r in withBaseline { #expect(r.speedupVsRing == ring.latency.seconds / r.latency.seconds) }
    }

    @Test func gqaExpansionMultipliesRingBytes() throws {
        let w = try DecodeWorkload(sequenceLength: 64_000, batch: 1, heads: 32, kvHeads: 8, headDim: 128)
        var native = DecodeOptions()
        native.ringSendsExpandedKV = false
        let c = try ClusterPreset.mi300x(gpus: 4).build()
        let expanded = try DecodeModel(cluster: c, workload: w).run(.ring(overlap: true))
        let slim = try DecodeModel(cluster: c, workload: w, options: native).run(.ring(overlap: true))
        #expect(close(expanded.elementsSentPerDevice, 4 * slim.elementsSentPerDevice))
    }

    @Test func traceIsValidJSONAndDeterministic() throws {
        let w = try DecodeWorkload(sequenceLength: 64_000, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: try ClusterPreset.rtx4090PCIe(gpus: 2).build(), workload: w)
        func traceData() throws -> Data {
            var trace = ChromeTrace()
            for s in [DecodeStrategy.tree(collective: .tree), .ring(overlap: true)] {
                let r = try m.run(s)
                trace.add(r.execution!, section: s.description, deviceNames: ["gpu0", "gpu1"])
            }
            return try trace.jsonData()
        }
        let data = try traceData()
        #expect(data == (try traceData()))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let events = try #require(object?["traceEvents"] as? [[String: Any]])
        #expect(events.contains { ($0["ph"] as? String) == "X" && ($0["cat"] as? String) == "transfer" })
        let path = NSTemporaryDirectory() + "/treeattn-trace-test-\(getpid()).json"
        var trace = ChromeTrace()
        trace.add(try m.run(.ring(overlap: true)).execution!, section: "ring", deviceNames: ["a", "b"])
        try trace.write(to: path)
        #expect(FileManager.default.fileExists(atPath: path))
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func badWorkloadsAreRejected() {
        #expect(throws: SimulatorError.self) { try DecodeWorkload(sequenceLength: 0, heads: 16, headDim: 128) }
        #expect(throws: SimulatorError.self) {
            try DecodeWorkload(sequenceLength: 10, heads: 16, kvHeads: 5, headDim: 128)
        }
        #expect(throws: SimulatorError.self) {
            try DecodeWorkload(sequenceLength: 10, heads: 16, headDim: 128, dtype: "int3")
        }
        #expect(throws: SimulatorError.self) { try DecodeStrategy.parse("tree:binomial") }
        #expect(throws: SimulatorError.self) { try DecodeStrategy.parse("star") }
        #expect(throws: SimulatorError.invalidArgument("unknown dtype 'f128' (bf16, fp16, fp32, f64, fp8)")) {
            try DecodeWorkload(sequenceLength: 10, heads: 16, headDim: 128, dtype: "f128")
        }
    }

    /// f64 (or fp64) workloads: 8-byte K/V, q and partials; every other dtype keeps fp32 partials.
    @Test func f64WorkloadsSendF64Partials() throws {
        for (dtype, bytes, partial) in [
            ("f64", 8, 8), ("FP64", 8, 8), ("fp32", 4, 4), ("bf16", 2, 4), ("fp16", 2, 4), ("fp8", 1, 4),
        ] {
            let w = try DecodeWorkload(sequenceLength: 10, heads: 16, headDim: 128, dtype: dtype)
            #expect(w.elementBytes == bytes && w.partialElementBytes == partial, "\(dtype)")
            #expect(w.dtype == dtype.lowercased())
        }
        // Pass-partials on the mesh with f64: T_local + (p-1)(a + S b + T_merge(2)), S = 2064 elements x 8 bytes, and
        // the local kernel reads f64 K/V and q and writes an f64 partial.
        let p = 4, bandwidth = 50e9
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .nanoseconds(100))
        let w = try DecodeWorkload(sequenceLength: 400, batch: 1, heads: 16, headDim: 128, dtype: "f64")
        let r = try DecodeModel(cluster: cluster, workload: w).run(.passPartials)
        let local = (2 * 100 * 2048 * 8 + 2048 * 8 + Self.partialElements * 8) / Self.hbm
        let merge = 3 * Self.partialElements * 8 / Self.hbm
        let expected = local + 3 * (100e-9 + Self.partialElements * 8 / bandwidth + merge)
        #expect(close(r.latency.seconds, expected), "\(r.latency.seconds) vs \(expected)")
        #expect(
            r.notes.contains {
                $0.hasPrefix("f64 on a GPU: the roofline's compute peak is the H100-SXM5's BF16 tensor peak")
            })
        // Tree: the same elements as fp32 (V_tree), twice the bytes; peak memory counts 8-byte partials.
        let f32 = try DecodeWorkload(sequenceLength: 400, batch: 1, heads: 16, headDim: 128, dtype: "fp32")
        let t64 = try DecodeModel(cluster: cluster, workload: w).run(.tree(collective: .ring))
        let t32 = try DecodeModel(cluster: cluster, workload: f32).run(.tree(collective: .ring))
        #expect(t64.elementsSentPerDevice == t32.elementsSentPerDevice)
        #expect(t64.bytesPerLinkClass.map(\.bytes) == t32.bytesPerLinkClass.map { 2 * $0.bytes })
        #expect(t64.peakMemoryBytes == 2 * t32.peakMemoryBytes)
        #expect(t32.notes.isEmpty)
    }
}
