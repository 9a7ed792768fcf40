import Foundation
import Testing

@testable import Simulator

/// Issue 26, parts 1 and 2: the presets of today's NVIDIA systems (numbers from docs/simulator-anchors.md) and
/// NCCL's NVLS all-reduce and NVLink speeds in the tuner model, against closed forms worked by hand from NCCL's
/// tables, and against published nccl-tests bus bandwidths that the model was not fitted to (it has no parameter of
/// ours: every constant is NCCL's).
@Suite struct TodaysSystemsTests {
    func close(_ a: Double, _ b: Double, _ rel: Double = 1e-9) -> Bool { abs(a - b) <= rel * max(abs(a), abs(b)) }

    @Test func presetsHaveTheVendorsShapes() throws {
        for (text, gpus, domains, gpu, nvlink, nic) in [
            ("dgx-a100:2", 16, 2, GPUSpec.a100SXM4, 300e9, 25e9), ("dgx-h200", 8, 1, .h200SXM, 450e9, 0),
            ("dgx-b200:3", 24, 3, .b200, 900e9, 50e9), ("gb200-nvl72", 72, 1, .gb200, 900e9, 0),
            ("gb200-nvl72:2", 144, 2, .gb200, 900e9, 50e9),
        ] {
            let c = try ClusterPreset.parse(text).build()
            #expect(c.gpuCount == gpus && c.serverGroups.count == domains && c.gpu == gpu, "\(text)")
            #expect(c.name == (text.contains(":") ? text : text + ":1"))
            let bandwidths = Set(c.network.links.map(\.bandwidth))
            #expect(bandwidths.contains(nvlink) && (nic == 0 || bandwidths.contains(nic)), "\(text): \(bandwidths)")
            // Rail-optimised: GPU i of every domain reaches GPU i of the next through one NIC, its rail and back.
            if domains > 1 {
                let r = try c.network.route(from: c.gpus[0], to: c.gpus[gpus / domains])
                #expect(r.links.count == 4, "\(text): \(r.links.count) hops")
            }
        }
        #expect(GPUSpec.b200.memoryBandwidth == 8e12 && GPUSpec.gb200.peakFlopsPerSecond == 2.5e15)
        #expect(throws: SimulatorError.self) { try ClusterPreset.parse("gb200-nvl72:911") }
        #expect(throws: SimulatorError.self) { try ClusterPreset.parse("dgx-b200:8193") }
        #expect(try ClusterPreset.parse("dgx-h200", count: 4) == .nvlinkSystem(.dgxH200, domains: 4))
    }

    @Test func nvlsBusBandwidthIsNCCLs() throws {
        // h = 8 heads; the fastest per-channel speed s with 9 s <= NCCL's NVLink total: Hopper 18 x 20.6 = 370.8 ->
        // s = 40; Blackwell 18 x 40.1 = 721.8 -> s = 80. busBw = 2 eff (7/8) 8 s.
        let h100 = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100").build())
        #expect(h100.architecture == .hopper && h100.switchReduction)
        #expect(close(try #require(NCCLModel.nvls(h100)), 2 * 0.85 * 7 / 8 * 8 * 40 * 1e9))
        let b200 = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-b200").build())
        #expect(close(try #require(NCCLModel.nvls(b200)), 2 * 0.74 * 7 / 8 * 8 * 80 * 1e9))
        // 72 GPUs in one NVLink domain: 32 heads (NCCL_MAX_NVLS_ARITY); 33 s <= 721.8 -> s = 20.
        let nvl72 = try NCCLModel.Inputs(cluster: ClusterPreset.parse("gb200-nvl72").build())
        #expect(close(try #require(NCCLModel.nvls(nvl72)), 2 * 0.74 * 31 / 32 * 32 * 20 * 1e9))
        // No NVLS on A100 (no NVLink SHARP), across servers (NVLS_TREE there), without a switch.
        for text in ["dgx-a100", "dgx-h100:2", "mi300x"] {
            let x = try NCCLModel.Inputs(cluster: ClusterPreset.parse(text).build())
            #expect(NCCLModel.nvls(x) == nil, "\(text)")
            #expect(throws: SimulatorError.self) {
                try NCCLModel.predict(.allreduce, bytes: 1e9, inputs: x, algorithm: .nvls)
            }
        }
        #expect(throws: SimulatorError.self) {
            try NCCLModel.predict(.broadcast, bytes: 1e9, inputs: h100, algorithm: .nvls)
        }
        #expect(throws: SimulatorError.self) {
            try NCCLModel.predict(.allreduce, bytes: 1e9, inputs: h100, algorithm: .nvls, proto: .ll)
        }
    }

    @Test func theTunerPicksNVLSForLargeAllReducesOnly() throws {
        let h100 = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100").build())
        // 4 GiB: NVLS, 25 us + (sqrt(bytes / (476 GB/s x 8/14)) + sqrt(3.67 us))^2, the pipeline fill calibrated.
        let big = try NCCLModel.predict(.allreduce, bytes: 4_294_967_296, inputs: h100)
        #expect(big.algorithm == .nvls && big.proto == .simple)
        let pipelined = ((4_294_967_296 / (476e9 * 8 / 14)).squareRoot() + (3.67e-6).squareRoot())
        #expect(close(big.time.seconds, 25e-6 + pipelined * pipelined, 1e-6))
        // With the fill at zero the model is NCCL's tuner as it is: latency + bytes / algBw.
        var tuner = h100
        tuner.pipelineFill = [:]
        let plainNVLS = try NCCLModel.predict(.allreduce, bytes: 4_294_967_296, inputs: tuner)
        #expect(close(plainNVLS.time.seconds, 25e-6 + 4_294_967_296 / (476e9 * 8 / 14), 1e-6))
        // 1 KiB: latency-bound, a ring or tree with LL (6.6 + 14 x 0.6 = 15 us for the ring), not NVLS's 25 us.
        let small = try NCCLModel.predict(.allreduce, bytes: 1024, inputs: h100)
        #expect(small.algorithm != .nvls && small.proto == .ll)
        // Ring Simple on NCCL's NVLink speed: bus bandwidth 18 x 20.6 = 370.8 GB/s, not the vendor's 450.
        let ring = try NCCLModel.predict(.allreduce, bytes: 4e9, inputs: h100, algorithm: .ring, proto: .simple)
        #expect(close(ring.algorithmBandwidth * 14 / 8, 370.8e9))
        // Without a known generation the simplified model keeps the cluster's 450 GB/s (the earlier behaviour).
        var unknown = h100
        unknown.architecture = nil
        let plain = try NCCLModel.predict(.allreduce, bytes: 4e9, inputs: unknown, algorithm: .ring, proto: .simple)
        #expect(close(plain.algorithmBandwidth * 14 / 8, 450e9))
        #expect(try NCCLModel.predict(.allreduce, bytes: 4e9, inputs: unknown).algorithm != .nvls)
    }

    /// NVLS all-gather and reduce-scatter in one server, NVLS_TREE across servers (tuning.cc, NCCL 2.30), each against
    /// its closed form.
    @Test func nvlsGatherScatterAndTreeAreNCCLs() throws {
        var h100 = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100").build())
        h100.pipelineFill = [:]
        // All-gather: per channel 40 x 0.85 x 7/8 x (ppn - 1)/ppn, 8 channels: 208.25 GB/s, and no conversion to
        // algorithm bandwidth for NVLS all-gather and reduce-scatter: time = 25 us + bytes / 208.25 GB/s.
        #expect(close(try #require(NCCLModel.nvls(h100, .allgather)), 8 * 40 * 0.85 * 7 / 8 * 7 / 8 * 1e9))
        for op in [CollectiveOperation.allgather, .reducescatter] {
            let p = try NCCLModel.predict(op, bytes: 1e9, inputs: h100, algorithm: .nvls)
            #expect(close(p.time.seconds, 25e-6 + 1e9 / 208.25e9, 1e-9))
            // NCCL's model puts the ring ahead for large all-gathers (370.8 x 8/7 GB/s of algorithm bandwidth).
            #expect(try NCCLModel.predict(op, bytes: 1e9, inputs: h100).algorithm == .ring)
        }
        // NVLS_TREE, 2 x 8 H100 (400 Gb/s per GPU): 8 channels x min(2 x 40 x 0.85 x 7/8 = 59.5, 2 x 50, 57.7).
        var two = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100:2").build())
        two.pipelineFill = [:]
        #expect(close(try #require(NCCLModel.nvlsTree(two)), 8 * 57.7e9, 1e-6))
        let tree = try NCCLModel.predict(.allreduce, bytes: 8e9, inputs: two, algorithm: .nvlsTree)
        // Latency 25 + 2 log2(2) x 20.9 us; algorithm bandwidth busBw x 16/30.
        #expect(close(tree.latency.microseconds, 25 + 2 * 20.9))
        #expect(close(tree.time.seconds, (25 + 41.8) * 1e-6 + 8e9 / (8 * 57.7e9 * 16 / 30), 1e-9))
        // NCCL's tuner takes it for large all-reduces across servers: above the ring's 370.8 GB/s.
        #expect(try NCCLModel.predict(.allreduce, bytes: 8e9, inputs: two).algorithm == .nvlsTree)
        // 4 servers: the network per channel (50 GB/s) and the cap (45.5) bind: 8 x 45.5; latency 25 + 2 x 2 x 20.9.
        let four = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100:4").build())
        #expect(close(try #require(NCCLModel.nvlsTree(four)), 8 * 45.5e9, 1e-6))
        #expect(
            close(
                try NCCLModel.predict(.allreduce, bytes: 1, inputs: four, algorithm: .nvlsTree).latency.microseconds,
                108.6))
        // None in one server, on A100, or for all-gather; Simple only.
        #expect(NCCLModel.nvlsTree(h100) == nil)
        #expect(NCCLModel.nvlsTree(try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-a100:2").build())) == nil)
        #expect(throws: SimulatorError.self) {
            try NCCLModel.predict(.allgather, bytes: 1e9, inputs: two, algorithm: .nvlsTree)
        }
        #expect(throws: SimulatorError.self) {
            try NCCLModel.predict(.allreduce, bytes: 1e9, inputs: h100, algorithm: .nvlsTree)
        }
        #expect(throws: SimulatorError.self) {
            try NCCLModel.predict(.allreduce, bytes: 1e9, inputs: two, algorithm: .nvlsTree, proto: .ll128)
        }
    }

    /// NCCL's bandwidth refinements per protocol (tuning.cc): ring LL min(llMaxBw, busBw/2), ring LL128 0.92, tree
    /// 0.92 then LL min(/3.8, llMaxBw) or LL128 7/9 on one server and 120/128 across.
    @Test func protocolBandwidthsAreNCCLs() throws {
        var h100 = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100").build())
        h100.pipelineFill = [:]
        func algBw(_ x: NCCLModel.Inputs, _ a: NCCLModel.Algorithm, _ p: NCCLModel.WireProtocol) throws -> Double {
            try NCCLModel.predict(.allreduce, bytes: 1e9, inputs: x, algorithm: a, proto: p).algorithmBandwidth
        }
        let bus = 370.8e9, ring = 8.0 / 14, treeRatio = 0.5
        #expect(close(try algBw(h100, .ring, .ll), 141e9 * ring, 1e-9))  // llMaxBw Hopper, one server: 141 < 185.4
        #expect(close(try algBw(h100, .ring, .ll128), bus * 0.92 * ring, 1e-9))
        #expect(close(try algBw(h100, .ring, .simple), bus * ring, 1e-9))
        #expect(close(try algBw(h100, .tree, .ll), bus * 0.92 / 3.8 * treeRatio, 1e-9))  // 89.8 < 141
        #expect(close(try algBw(h100, .tree, .ll128), bus * 0.92 * 7 / 9 * treeRatio, 1e-9))
        #expect(close(try algBw(h100, .tree, .simple), bus * 0.92 * treeRatio, 1e-9))
        // Across servers: Intel's llMaxBw row (39.0 for two servers, 20.4 for more), LL128 tree x 120/128.
        let two = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100:2").build())
        #expect(close(try algBw(two, .ring, .ll), 39e9 * 16 / 30, 1e-9))
        #expect(close(try algBw(two, .tree, .ll128), 370.8e9 * 0.92 * 120 / 128 * treeRatio, 1e-9))
        let eight = try NCCLModel.Inputs(cluster: ClusterPreset.parse("dgx-h100:8").build())
        #expect(close(try algBw(eight, .ring, .ll), 20.4e9 * 64 / 126, 1e-9))
    }

    /// Published nccl-tests all_reduce_perf bus bandwidths on one 8-GPU node at GB-size messages (sources in
    /// docs/simulator-anchors.md). Every one is held out: the model has no parameter of ours to fit (NCCL's own
    /// constants, whose NVLS efficiencies NCCL's developers set from such runs). The goal is 15%; all are within 5%.
    @Test func publishedBusBandwidthsAreFollowed() throws {
        for (preset, algorithm, measured, bytes) in [
            ("dgx-h100", NCCLModel.Algorithm.ring, 367.5e9, 4e9),  // NCCL_ALGO=RING 365-370 (nccl#1455)
            ("dgx-h100", .nvls, 480e9, 4e9),  // nccl-tests#212, nccl#1455
            ("dgx-h200", .nvls, 475e9, 4e9),  // nccl-tests#272
            ("dgx-a100", .ring, 232.5e9, 4e9),  // nccl-tests#175 (and ~230 expected, #149)
            ("dgx-b200", .nvls, 830e9, 4e9),  // "830+" nccl#1807
        ] {
            let x = try NCCLModel.Inputs(cluster: ClusterPreset.parse(preset).build())
            let p = try NCCLModel.predict(.allreduce, bytes: bytes, inputs: x, algorithm: algorithm, proto: .simple)
            // nccl-tests: busBw = algBw x 2(n-1)/n, with algBw = bytes / time (latency included).
            let busBw = bytes / p.time.seconds * 14 / 8
            #expect(
                abs(busBw - measured) / measured < 0.05, "\(preset) \(algorithm): \(busBw / 1e9) vs \(measured / 1e9)")
        }
    }
}

/// Issue 26, part 3: today's models' attention in decode (`ModelAttention`, `DecodeWorkload.valueDim`/`latentKV`):
/// the cache per token and what Tree and Ring move follow from it, against closed forms.
@Suite struct TodaysModelsTests {
    @Test func cachePerTokenFollowsTheModel() throws {
        let ds = try ModelAttention.deepSeekV3.workload(sequenceLength: 1000)
        // MLA: one 576-wide latent row per token serves K and V; the output is 128 heads x 512.
        #expect(ds.kvElements(tokens: 1) == 576 && ds.kvElements(tokens: 1, heads: 128) == 576)
        #expect(ds.outputDim == 128 * 512 && ds.modelDim == 128 * 576 && !ds.isPlain)
        #expect(ds.partialElements == Double(128 * 512 + 128))
        let llama = try ModelAttention.llama31_70B.workload(sequenceLength: 1000)
        #expect(llama.kvElements(tokens: 1) == 2 * 8 * 128 && llama.isPlain)
        #expect(try ModelAttention.llama31_405B.workload(sequenceLength: 9).heads == 128)
        // The sliding layers of gpt-oss attend to (and cache) the last 128 tokens only.
        #expect(try ModelAttention.gptOss120BSliding.workload(sequenceLength: 1_000_000).sequenceLength == 128)
        #expect(try ModelAttention.gptOss120B.workload(sequenceLength: 1_000_000).sequenceLength == 1_000_000)
        // Flash-decode FLOPs: 2 b n_h t (d_qk + d_v).
        let roof = try Roofline(gpu: .h100SXM5)
        let t = roof.flashDecode(tokens: 1000, ds)
        #expect(t >= .seconds(2 * 128 * 1000 * (576 + 512) / GPUSpec.h100SXM5.peakFlopsPerSecond))
        #expect(throws: SimulatorError.self) {
            try DecodeWorkload(sequenceLength: 8, heads: 4, kvHeads: 2, headDim: 8, latentKV: true)
        }
        #expect(throws: SimulatorError.self) { try ModelAttention.named("llama-2") }
    }

    @Test func treeAndRingVolumesFollowTheCachePerToken() throws {
        let cluster = try ClusterPreset.parse("dgx-h100:2").build()
        let p = 16.0, n = 1_280_000
        let ds = try DecodeModel(cluster: cluster, workload: ModelAttention.deepSeekV3.workload(sequenceLength: n))
        // Ring: p - 1 hops of one rank's latent rows, N/p x 576 values.
        let ring = try ds.run(.ring(overlap: true))
        #expect(ring.elementsSentPerDevice == (p - 1) * Double(n) / p * 576)
        // Tree: three all-reduces of b n_h (max), b n_h d_v (numerator), b n_h (denominator); a ring all-reduce
        // sends 2(p-1)/p of each.
        let tree = try ds.run(.tree(collective: .ring))
        #expect(abs(tree.elementsSentPerDevice - 2 * (p - 1) / p * Double(128 * 512 + 2 * 128)) < 1e-6)
        #expect(ring.paperVolumeElements == nil && tree.paperPeakMemoryElements == nil)
        // Llama 3.1 70B sends its GQA cache expanded to 64 heads by default: 64 x 256 values per token.
        let llama = try DecodeModel(cluster: cluster, workload: ModelAttention.llama31_70B.workload(sequenceLength: n))
        #expect(try llama.run(.ring(overlap: true)).elementsSentPerDevice == (p - 1) * Double(n) / p * 64 * 256)
    }
}
