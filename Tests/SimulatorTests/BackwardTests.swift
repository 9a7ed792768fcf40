import Foundation
import Testing

@testable import Simulator

/// The backward and training steps (`DecodeModel.step`): closed forms of the roofline's backward kernel, of Tree's two
/// all-reduces and of Ring's K/V + dK/dV ring (`KVGradientRingProgram`), volumes next to the forward's, refusals.
@Suite("Decode backward")
struct BackwardTests {
    static let hbm = 3.35e12, peak = 989e12
    /// b = 1, 16 heads x 128, bf16 (d = 2048), fp32 partials.
    static let d = 2048.0, nh = 16.0

    /// D = rowsum(dO o O): dO (bf16) and O (fp32) read, D (fp32) written.
    static let preprocess = (d * 2 + (d + nh) * 4) / hbm
    /// Flash-backward over t tokens, memory bound: K/V read and dK/dV written (bf16), q and dO (bf16), LSE and D
    /// read and dQ written (fp32).
    static func flashBackward(tokens t: Double, kvHeads: Double = 16) -> Double {
        (2 * (2 * t * kvHeads * 128) * 2 + 2 * d * 2 + (2 * nh + d) * 4) / hbm
    }

    @Test func rooflineBackwardIsTwoAndAHalfTimesTheForwardsFLOPs() throws {
        let w = try DecodeWorkload(sequenceLength: 1000, heads: 16, headDim: 128)
        // Compute bound (a tiny compute efficiency): the time ratio is the FLOP ratio, 10 b n_h t d_h / 4 b n_h t d_h.
        let slow = try Roofline(gpu: .h100SXM5, computeEfficiency: 1e-4)
        let ratio = slow.flashBackward(tokens: 1000, w).seconds / slow.flashDecode(tokens: 1000, w).seconds
        #expect(close(ratio, 2.5, tolerance: 1e-6), "\(ratio)")  // times are whole picoseconds
        let flops: Double = 10 * 16 * 1000 * 128
        #expect(close(slow.flashBackward(tokens: 1000, w).seconds, flops / (Self.peak * 1e-4), tolerance: 1e-6))
        // Memory bound (idealised H100): the bytes of the doc comment.
        let roof = try Roofline(gpu: .h100SXM5)
        #expect(close(roof.flashBackward(tokens: 1000, w).seconds, Self.flashBackward(tokens: 1000), tolerance: 1e-6))
        #expect(close(roof.backwardPreprocess(w).seconds, Self.preprocess))  // 3.687 ns, to the picosecond
        let added: Double = 3 * 1e6 * 2 / Self.hbm
        #expect(close(roof.accumulate(1e6, elementBytes: 2).seconds, added, tolerance: 1e-6))
        #expect(roof.flashBackward(tokens: 0, w) == .zero)
    }

    @Test func treeBackwardIsPreprocessPlusTwoAllReducesAroundTheLocalBackward() throws {
        // Recursive doubling on a mesh: log2(8) = 3 exchanges of the whole buffer per all-reduce.
        let p = 8
        let cluster = try fullyConnected(p, bandwidth: 50e9, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: 800_000, batch: 1, heads: 16, headDim: 128)
        let model = try DecodeModel(cluster: cluster, workload: w, step: .backward)
        let r = try model.run(.tree(collective: .recursiveDoubling))
        func small(_ elements: Double) -> Double { 3 * (1e-6 + elements * 4 / 50e9) }
        let expected = Self.preprocess + small(Self.nh) + Self.flashBackward(tokens: 100_000) + small(Self.d)
        #expect(close(r.latency.seconds, expected), "\(r.latency.seconds) vs \(expected)")
        #expect(r.step == .backward && r.backwardLatency == r.latency)
        // Each device sends its whole buffer log2 p times: 3 (b n_h + b d) elements.
        let backwardVolume: Double = 3 * (Self.nh + Self.d), forwardVolume: Double = 3 * (2 * Self.nh + Self.d)
        #expect(close(try #require(r.backwardElementsSentPerDevice), backwardVolume, tolerance: 1e-12))
        // The forward's volume is stated next to it: three all-reduces, b n_h + b d + b n_h, 3 times each.
        #expect(close(r.elementsSentPerDevice, forwardVolume, tolerance: 1e-12))
        // Breakdown adds up.
        var sum = r.compute + r.communication
        sum += r.overhead + r.idle
        #expect(close(sum.seconds, r.latency.seconds))
    }

    @Test func treeBackwardBytesEqualTheRingAllReducesVolume() throws {
        // Ring all-reduces: every device sends 2(p-1)/p of each buffer: b n_h (D) and b d (dQ), p | both buffers.
        let p = 8
        let cluster = try fullyConnected(p, bandwidth: 50e9, latency: .microseconds(1))
        let w = try DecodeWorkload(sequenceLength: 800, batch: 1, heads: 16, headDim: 128)
        let r = try DecodeModel(cluster: cluster, workload: w, step: .backward).run(.tree(collective: .ring))
        let volume: Double = 2.0 * 7 / 8 * (Self.nh + Self.d)  // 3,612
        #expect(close(try #require(r.backwardElementsSentPerDevice), volume, tolerance: 1e-12))
        #expect(r.paperBackwardVolumeElements == volume)
        let linkBytes: Double = Double(p) * volume * 4
        #expect(close(r.bytesPerLinkClass[0].bytes, linkBytes, tolerance: 1e-12))
        // The forward's V_tree = 2(p-1)/p (b d + 2 b n_h) = 3,640, unchanged by the step.
        #expect(close(r.elementsSentPerDevice, 3640, tolerance: 1e-12))
        #expect(r.paperVolumeElements == 3640)
        let forward = try DecodeModel(cluster: cluster, workload: w).run(.tree(collective: .ring))
        #expect(
            forward.elementsSentPerDevice == r.elementsSentPerDevice
                && forward.paperVolumeElements == r.paperVolumeElements)
        #expect(r.forwardLatency == forward.latency)
        // The NCCL model states the same volumes (ring all-reduces inside NCCL).
        let nccl = try DecodeModel(cluster: cluster, workload: w, step: .backward).run(
            .tree(collective: .nccl(algorithm: nil)))
        #expect(close(try #require(nccl.backwardElementsSentPerDevice), volume, tolerance: 1e-12))
        #expect(close(nccl.elementsSentPerDevice, 3640, tolerance: 1e-12))
    }

    @Test func ringBackwardSendsTwiceTheForwardsKV() throws {
        // GQA: 16 query heads on 4 K/V heads, t = 100 tokens per rank. K/V as sent: 2 b t n d_h elements per chunk,
        // n = n_h expanded (default) or n_kv native; the overlapped ring makes p-1 hops, the sequential one p.
        let p = 4
        let cluster = try fullyConnected(p, bandwidth: 50e9, latency: .nanoseconds(800))
        let w = try DecodeWorkload(sequenceLength: 400, batch: 1, heads: 16, kvHeads: 4, headDim: 128)
        var native = DecodeOptions()
        native.ringSendsExpandedKV = false
        for (options, heads) in [(DecodeOptions(), 16.0), (native, 4.0)] {
            let chunk: Double = 2 * 100 * heads * 128
            for (overlap, hops) in [(true, 3.0), (false, 4.0)] {
                let r = try DecodeModel(cluster: cluster, workload: w, options: options, step: .backward).run(
                    .ring(overlap: overlap))
                let forwardElements: Double = hops * chunk, backwardElements: Double = 2 * hops * chunk
                let linkBytes: Double = Double(p) * backwardElements * 2
                #expect(close(r.elementsSentPerDevice, forwardElements, tolerance: 1e-12), "\(overlap) \(heads)")
                #expect(
                    close(try #require(r.backwardElementsSentPerDevice), backwardElements, tolerance: 1e-12),
                    "\(overlap) \(heads)")
                #expect(close(r.bytesPerLinkClass[0].bytes, linkBytes, tolerance: 1e-12))
                // Messages: every K/V hop and every dK/dV hop.
                #expect(r.messages == 2 * p * Int(hops))
            }
        }
        // Paper-style: K/V and dK/dV each counted as V_ring = 2 b t d p.
        let m = try DecodeModel(cluster: cluster, workload: w, step: .backward)
        let ringVolume: Double = 2 * 2 * 100 * 2048 * 4, treeVolume: Double = 2 * 3.0 / 4 * (2048 + 16)
        #expect(m.paperBackwardVolume(.ring(overlap: true), p: p) == ringVolume)
        #expect(m.paperBackwardVolume(.tree(collective: .tree), p: p) == treeVolume)
        #expect(m.paperBackwardVolume(.gatherToOne, p: p) == nil)
    }

    /// The gradient ring run directly with given block times on a mesh (one link per ordered pair, latency a,
    /// bandwidth B), chunk S bytes, accumulator S bytes.
    @Test func kvGradientRingMatchesClosedForms() throws {
        let p = 4, bandwidth = 50e9, a = 1e-6, bytes = 2e6
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .microseconds(1))
        func run(overlap: Bool, block: SimTime, add: SimTime) throws -> ExecutionResult {
            let ring = try KVGradientRingProgram(
                ranks: p, overlap: overlap, chunkBytes: Array(repeating: bytes, count: p),
                gradientBytes: Array(repeating: bytes, count: p),
                blockTimes: Array(repeating: block, count: p), accumulateTimes: Array(repeating: add, count: p))
            return try Execution(recording: true).run([ring], on: cluster)
        }
        let h1 = a + bytes / bandwidth, h2 = a + 2 * bytes / bandwidth  // one message alone; two sharing a link
        // Overlapped, compute bound (T > h2): blocks back to back, an add at every step from 2 on, then the last
        // accumulator's hop home and the owner's add: p T + (p-1) A + a + S/B.
        let computeBound = try run(overlap: true, block: .microseconds(100), add: .microseconds(10))
        let computeBoundExpected: Double = 4 * 100e-6 + 3 * 10e-6 + h1
        #expect(close(computeBound.makespan.seconds, computeBoundExpected), "\(computeBound.makespan.seconds)")
        // K/V and dK/dV each make p-1 hops from every rank.
        #expect(computeBound.messages == 2 * p * (p - 1))
        #expect(computeBound.bytesSent.allSatisfy { $0 == 2 * Double(p - 1) * bytes })
        let computes = computeBound.activities.filter { $0.kind == .compute }
        #expect(computes.filter { $0.label == "flash-backward" }.count == p * p)
        #expect(computes.filter { $0.label == "accumulate dK/dV" }.count == p * (p - 1))
        // Overlapped, communication bound (free compute): the first K/V hop alone, then p-2 steps where a K/V chunk
        // and an accumulator share each link, then the last accumulator alone: 2 (a + S/B) + (p-2)(a + 2S/B).
        let commBound = try run(overlap: true, block: .zero, add: .zero)
        let commBoundExpected: Double = 2 * h1 + 2 * h2
        #expect(
            close(commBound.makespan.seconds, commBoundExpected),
            "\(commBound.makespan.seconds) vs \(commBoundExpected)")
        // Sequential (the JAX baseline): block, add (from step 1), K/V then the accumulator back to back on one
        // channel, both received: p (T + a + 2S/B) + (p-1) A; p hops each.
        let sequential = try run(overlap: false, block: .microseconds(100), add: .microseconds(10))
        let sequentialExpected: Double = 4 * (100e-6 + h2) + 3 * 10e-6
        #expect(close(sequential.makespan.seconds, sequentialExpected), "\(sequential.makespan.seconds)")
        #expect(sequential.messages == 2 * p * p)
        #expect(sequential.bytesSent.allSatisfy { $0 == 2 * Double(p) * bytes })
        // One rank: one block, nothing sent.
        let one = try KVGradientRingProgram(
            ranks: 1, overlap: true, chunkBytes: [bytes], gradientBytes: [bytes],
            blockTimes: [.microseconds(7)], accumulateTimes: [.microseconds(1)])
        let single = try Execution(recording: true).run(
            [one], on: try fullyConnected(1, bandwidth: bandwidth, latency: .microseconds(1)))
        #expect(single.makespan == .microseconds(7) && single.messages == 0)
        #expect(throws: SimulatorError.self) {
            try KVGradientRingProgram(
                ranks: 2, overlap: true, chunkBytes: [1], gradientBytes: [1, 1], blockTimes: [.zero, .zero],
                accumulateTimes: [.zero, .zero])
        }
    }

    @Test func ringBackwardOnAFastMeshIsComputeBound() throws {
        // Links so fast that every hop hides behind the blocks: D, then p T + (p-1) A + a + S/B, T = flash-backward
        // over t = 100k tokens, A = adding one K/V-sized accumulator (bf16: read two, write one).
        let p = 4, bandwidth = 1e15
        let cluster = try fullyConnected(p, bandwidth: bandwidth, latency: .nanoseconds(1))
        let w = try DecodeWorkload(sequenceLength: 400_000, batch: 1, heads: 16, headDim: 128)
        let r = try DecodeModel(cluster: cluster, workload: w, step: .backward).run(.ring(overlap: true))
        let chunk = 2 * 100_000 * 2048.0
        let add = 3 * chunk * 2 / Self.hbm
        let expected =
            Self.preprocess + 4 * Self.flashBackward(tokens: 100_000) + 3 * add + 1e-9 + chunk * 2 / bandwidth
        #expect(close(r.latency.seconds, expected), "\(r.latency.seconds) vs \(expected)")
    }

    @Test func singleGPUBackwardIsLocal() throws {
        let w = try DecodeWorkload(sequenceLength: 100_000, batch: 1, heads: 16, headDim: 128)
        let r = try DecodeModel(cluster: try ClusterPreset.dgxH100(servers: 1).build(), workload: w, step: .backward)
            .run(.singleGPU)
        #expect(close(r.latency.seconds, Self.preprocess + Self.flashBackward(tokens: 100_000)))
        #expect(
            r.gpus == 1 && r.messages == 0 && r.backwardElementsSentPerDevice == 0
                && r.paperBackwardVolumeElements == nil)
        // All of K/V and dK/dV, q, O, dO (bf16); dQ, LSE and D (fp32).
        let kv = 2 * 100_000 * 2048.0
        let elements: Double = 2 * kv + 3 * Self.d + Self.d + 2 * Self.nh
        let bytes: Double = (2 * kv + 3 * Self.d) * 2 + (Self.d + 2 * Self.nh) * 4
        #expect(r.peakMemoryElements == elements)
        #expect(r.peakMemoryBytes == bytes)
    }

    @Test func backwardPeakMemoryAddsTheGradients() throws {
        let w = try DecodeWorkload(sequenceLength: 640_000, batch: 1, heads: 16, kvHeads: 16, headDim: 128)
        let cluster = try ClusterPreset.dgxH100(servers: 1).build()
        let forward = try DecodeModel(cluster: cluster, workload: w)
        let backward = try DecodeModel(cluster: cluster, workload: w, step: .backward)
        let kv = 2 * 80_000 * 2048.0, b = 1.0
        // Tree: + dK, dV (the local K/V's size) and dO in bf16, + dQ (b d) and D (b n_h) in fp32.
        let tf = try forward.run(.tree(collective: .tree), recording: false),
            tb = try backward.run(.tree(collective: .tree), recording: false)
        let treeElements: Double = kv + b * Self.d + b * Self.d + b * Self.nh
        let treeBytes: Double = (kv + b * Self.d) * 2 + (b * Self.d + b * Self.nh) * 4
        #expect(tb.peakMemoryElements == tf.peakMemoryElements + treeElements)
        #expect(tb.peakMemoryBytes == tf.peakMemoryBytes + treeBytes)
        #expect(tf.paperPeakMemoryElements != nil && tb.paperPeakMemoryElements == nil)
        // Ring (overlapped): + three dK/dV buffers as sent, dO (bf16), dQ, LSE and D (fp32); sequential two.
        let rf = try forward.run(.ring(overlap: true), recording: false),
            rb = try backward.run(.ring(overlap: true), recording: false)
        let gradients: Double = b * Self.d + b * Self.d + 2 * b * Self.nh
        #expect(rb.peakMemoryElements == rf.peakMemoryElements + 3 * kv + gradients)
        let sb = try backward.run(.ring(overlap: false), recording: false)
        #expect(sb.peakMemoryElements == rf.peakMemoryElements + 2 * kv + gradients)
        let ringBytes: Double = (3 * kv + b * Self.d) * 2 + (b * Self.d + 2 * b * Self.nh) * 4
        #expect(rb.peakMemoryBytes == rf.peakMemoryBytes + ringBytes)
        #expect(tb.fitsInMemory && rb.fitsInMemory)
    }

    @Test func treeBeatsRingInTheBackwardAtScale() throws {
        let w = try DecodeWorkload(sequenceLength: 1_280_000, batch: 1, heads: 16, headDim: 128)
        let cluster = try ClusterPreset.dgxH100(servers: 2).build()
        let strategies: [DecodeStrategy] = [
            .tree(collective: .tree), .ring(overlap: true), .ring(overlap: false), .singleGPU,
            .tree(collective: .nccl(algorithm: nil)),
        ]
        let forward = try DecodeModel(cluster: cluster, workload: w).compare(strategies, recording: false)
        let backward = try DecodeModel(cluster: cluster, workload: w, step: .backward).compare(
            strategies, recording: false)
        let training = try DecodeModel(cluster: cluster, workload: w, step: .training).compare(
            strategies, recording: false)
        #expect(backward[0].latency < backward[1].latency)
        #expect(try #require(backward[0].speedupVsRing) > 10)
        #expect(backward[1].speedupVsRing == 1)
        for (f, (b, t)) in zip(forward, zip(backward, training)) {
            // The backward alone takes at least the forward's time; training at least either.
            #expect(b.latency >= f.latency, "\(b.strategy)")
            #expect(b.forwardLatency == f.latency && t.forwardLatency == f.latency, "\(b.strategy)")
            #expect(b.backwardLatency == b.latency && t.backwardLatency == b.latency, "\(b.strategy)")
            #expect(t.latency >= b.latency && t.latency >= f.latency, "\(t.strategy)")
            // The forward's volumes are the forward step's, whatever the step.
            #expect(
                b.elementsSentPerDevice == f.elementsSentPerDevice && t.elementsSentPerDevice == f.elementsSentPerDevice
            )
            #expect(b.paperVolumeElements == f.paperVolumeElements)
            #expect(f.backwardElementsSentPerDevice == nil && f.forwardLatency == nil && f.step == .forward)
            #expect(t.backwardElementsSentPerDevice == b.backwardElementsSentPerDevice && t.step == .training)
        }
    }

    @Test func trainingIsDeterministicAndLabelsTheBackward() throws {
        let w = try DecodeWorkload(sequenceLength: 64_000, heads: 16, kvHeads: 4, headDim: 128)
        let m = try DecodeModel(cluster: try ClusterPreset.rtx4090PCIe(gpus: 2).build(), workload: w, step: .training)
        func traceData() throws -> (Data, [SimTime]) {
            var trace = ChromeTrace()
            var latencies: [SimTime] = []
            for r in try m.compare([.tree(collective: .tree), .ring(overlap: true), .ring(overlap: false)]) {
                trace.add(try #require(r.execution), section: r.strategy, deviceNames: ["gpu0", "gpu1"])
                latencies.append(r.latency)
            }
            return (try trace.jsonData(), latencies)
        }
        let (data, latencies) = try traceData()
        let (again, latenciesAgain) = try traceData()
        #expect(data == again && latencies == latenciesAgain)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let names = Set(try #require(object?["traceEvents"] as? [[String: Any]]).compactMap { $0["name"] as? String })
        for label in ["flash-decode", "flash-backward", "backward D = rowsum(dO o O)", "accumulate dK/dV"] {
            #expect(names.contains(label), "\(label)")
        }
    }

    @Test func strategiesWithoutABackwardAreRefused() throws {
        let w = try DecodeWorkload(sequenceLength: 8000, heads: 16, headDim: 128)
        let cluster = try ClusterPreset.mi300x(gpus: 4).build()
        for step in [DecodeStep.backward, .training] {
            let m = try DecodeModel(cluster: cluster, workload: w, step: step)
            for (strategy, name) in [
                (DecodeStrategy.gatherToOne, "gather"), (.passPartials, "pass-partials"),
                (.treeReduce(.binary), "tree-reduce"), (.ringSendrecv, "ring-sendrecv"),
            ] {
                #expect(throws: SimulatorError.self) { try m.run(strategy) }
                do {
                    _ = try m.compare([.tree(collective: .tree), strategy])
                    Issue.record("\(name) was not refused")
                } catch let error as SimulatorError {
                    guard case .unsupported(let message) = error else {
                        Issue.record("\(error)")
                        continue
                    }
                    #expect(message.hasPrefix("no backward model for '\(name)' ("), "\(message)")
                    #expect(
                        message.hasSuffix(
                            "backward and training steps are modelled for tree[:ALG], ring, ring-sequential and single")
                    )
                }
            }
        }
        // The forward step still runs them.
        let reports = try DecodeModel(cluster: cluster, workload: w).compare(
            [.gatherToOne, .passPartials, .ringSendrecv], recording: false)
        #expect(reports.count == 3)
    }
}
