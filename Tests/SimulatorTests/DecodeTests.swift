import Foundation
import Testing
@testable import Simulator

@Suite("Decode strategies")
struct DecodeTests {
    /// The paper's example: b=1, d=2048 (16 heads x 128), p=8, N=640k.
    func paperModel(_ options: DecodeOptions = DecodeOptions()) throws -> DecodeModel {
        let w = try DecodeWorkload(sequenceLength: 640_000, batch: 1, heads: 16, kvHeads: 16, headDim: 128, dtype: "bf16")
        var o = options
        o.collective.segments = 1
        return try DecodeModel(cluster: try ClusterPreset.dgxH100(servers: 1).build(), workload: w, options: o)
    }

    @Test func paperVolumesExample() throws {
        let m = try paperModel()
        let vTree = 2.0 * 7 / 8 * (2048 + 2 * 16)      // 3,640
        let vRing = 2.0 * 1 * 80_000 * 2048 * 8         // 2.62e9
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

    @Test func paperPeakMemoryFormulas() throws {
        let m = try paperModel()
        let t = 80_000.0, b = 1.0, d = 2048.0, nh = 16.0
        #expect(m.paperMemory(.ring(overlap: true), p: 8) == 4 * b * t * d + 2 * b * d)
        #expect(m.paperMemory(.tree(collective: .tree), p: 8) == 2 * b * t * d + 2 * b * d + 2 * b * nh)
        let tree = try m.run(.tree(collective: .tree)), ring = try m.run(.ring(overlap: true))
        #expect(tree.peakMemoryElements == m.paperMemory(.tree(collective: .tree), p: 8))
        #expect(ring.peakMemoryElements == m.paperMemory(.ring(overlap: true), p: 8))
        // The paper's 2 x RTX 4090 gap: t = 64k (64,000), bf16, d = 2048 -> about 2 b t d elements * 2 B = 524 MB.
        let rtx = try DecodeModel(cluster: try ClusterPreset.rtx4090PCIe(gpus: 2).build(),
                                  workload: try DecodeWorkload(sequenceLength: 128_000, heads: 16, headDim: 128))
        let ringMemory: Double = try #require(rtx.paperMemory(.ring(overlap: true), p: 2))
        let treeMemory: Double = try #require(rtx.paperMemory(.tree(collective: .tree), p: 2))
        let gapMB: Double = (ringMemory - treeMemory) * 2 / 1e6
        #expect(close(gapMB, 524.288, tolerance: 1e-3))
    }

    @Test func treeBeatsRingAtScaleAndAlternativesRun() throws {
        let w = try DecodeWorkload(sequenceLength: 1_280_000, batch: 1, heads: 16, headDim: 128)
        let m = try DecodeModel(cluster: try ClusterPreset.dgxH100(servers: 2).build(), workload: w)
        let reports = try m.compare([.tree(collective: .tree), .ring(overlap: true), .passPartials, .gatherToOne, .singleGPU,
                                     .tree(collective: .nccl(algorithm: nil)), .tree(collective: .hierarchical(inter: .tree))])
        let tree = reports[0], ring = reports[1]
        #expect(tree.latency < ring.latency)
        #expect(try #require(tree.speedupVsRing) > 10)
        #expect(ring.speedupVsRing == 1)
        for r in reports { #expect(r.latency.picoseconds > 0) }
        #expect(reports[4].gpus == 1)
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
        #expect(throws: SimulatorError.self) { try DecodeWorkload(sequenceLength: 10, heads: 16, kvHeads: 5, headDim: 128) }
        #expect(throws: SimulatorError.self) { try DecodeWorkload(sequenceLength: 10, heads: 16, headDim: 128, dtype: "int3") }
        #expect(throws: SimulatorError.self) { try DecodeStrategy.parse("tree:binomial") }
        #expect(throws: SimulatorError.self) { try DecodeStrategy.parse("star") }
    }
}
