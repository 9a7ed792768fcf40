import Foundation
import Testing

@testable import Simulator

/// `StepExtrapolation` (`--ring-simulation extrapolate`, and `auto` beyond 2^24 messages) against simulating every
/// step of the same K/V ring: flat, contended (an oversubscribed fat tree) and rail-optimised fat-tree clusters, even
/// and uneven token splits, compute- and communication-bound, the three ring strategies.
@Suite("Ring step extrapolation")
struct StepExtrapolationTests {
    /// A 2:1 oversubscribed two-tier fat tree of 32 8-GPU servers, not rail-optimised: ring edges between servers
    /// share leaf uplinks, some of them hashed onto the same one (ECMP collisions).
    static func oversubscribed() throws -> Cluster {
        let leaf = FatTreeSpec.Tier(bandwidth: 50e9, latency: .nanoseconds(500), oversubscription: 2)
        var top = leaf
        top.oversubscription = nil
        return try FatTreeSpec(nodes: 32, gpusPerNode: 8, radix: 24, railOptimised: false, tiers: [leaf, top]).build(
            name: "2:1")
    }

    static func model(_ cluster: Cluster, tokens: Int, _ mode: RingSimulation, memoryEfficiency: Double = 1) throws
        -> DecodeModel
    {
        var options = DecodeOptions()
        options.memoryEfficiency = memoryEfficiency
        options.ringSimulation = mode
        options.kernelLaunch = .microseconds(3)
        return try DecodeModel(
            cluster: cluster, workload: try DecodeWorkload(sequenceLength: tokens, heads: 16, headDim: 128),
            options: options)
    }

    /// A line that leaves the clock's range is the clock-range error (as a whole run would be), not a trap; inside it,
    /// the line through the two prefixes.
    @Test func extendingBeyondTheClockIsAnError() throws {
        func run(_ ps: Int64) -> ExecutionResult {
            ExecutionResult(
                makespan: SimTime(picoseconds: ps), rankFinish: [SimTime(picoseconds: ps)], events: 1,
                messages: Int(ps / 100),
                bytesSent: [1], bytesPerLinkClass: [], transfers: [], activities: [])
        }
        #expect(throws: SimulatorError.clockRange) {
            try StepExtrapolation.extend(
                run(1_000_000_000_000_000), run(2_000_000_000_000_000), from: 16, 32, to: 1 << 30, events: 0)
        }
        let r = try StepExtrapolation.extend(run(1_000), run(2_000), from: 16, 32, to: 64, events: 5)
        #expect(
            r.makespan.picoseconds == 4_000 && r.rankFinish == [SimTime(picoseconds: 4_000)] && r.messages == 40
                && r.events == 5)
    }

    /// The training step (forward ring, then the gradient ring with the dK/dV accumulators) and the backward alone:
    /// both rings cut after the same number of hops (`KVGradientRingProgram.prefix`), against every step.
    @Test(
        "training and backward rings: extrapolated == simulated every step",
        arguments: [
            ("dgx-h100:16", 100_000_000), ("dgx-h100:16", 1_000_003), ("dgx-h100-3tier:16", 12_800_000),
        ])
    func trainingMatchesExact(cluster name: String, tokens: Int) throws {
        let cluster = try Cluster.resolve(name)
        for strategy in [DecodeStrategy.ring(overlap: true), .ring(overlap: false)] {
            for step in [DecodeStep.training, .backward] {
                func model(_ mode: RingSimulation) throws -> DecodeModel {
                    var options = DecodeOptions()
                    options.ringSimulation = mode
                    return try DecodeModel(
                        cluster: cluster, workload: try DecodeWorkload(sequenceLength: tokens, heads: 16, headDim: 128),
                        options: options, step: step)
                }
                let exact = try model(.exact).run(strategy, recording: false)
                let fast = try model(.extrapolate).run(strategy, recording: false)
                let label = "\(name) N=\(tokens) \(strategy) \(step)"
                #expect(fast.notes.contains { $0.contains("extrapolated") }, "\(label): not extrapolated")
                let q = tokens / exact.gpus, bound = tokens % exact.gpus == 0 ? 1e-9 : 1 / Double(q)
                for (f, e) in [
                    (fast.latency, exact.latency), (fast.forwardLatency!, exact.forwardLatency!),
                    (fast.backwardLatency!, exact.backwardLatency!),
                ] {
                    let error = abs(f.seconds - e.seconds) / e.seconds
                    print("extrapolation \(label): \(e) error \(error)")
                    #expect(error <= bound, "\(label): \(f) vs \(e)")
                }
                #expect(fast.messages == exact.messages)
                #expect(
                    abs(fast.elementsSentPerDevice - exact.elementsSentPerDevice) <= 1e-12 * exact.elementsSentPerDevice
                )
                #expect(
                    abs(fast.backwardElementsSentPerDevice! - exact.backwardElementsSentPerDevice!)
                        <= 1e-12 * exact.backwardElementsSentPerDevice!)
            }
        }
    }

    /// Relative error of the extrapolated latency, breakdown and volumes against the whole simulation. Even splits
    /// (N mod p = 0): the same to rounding. Uneven ones: the first N mod p chunks hold one token more, so the per-step
    /// time changes by at most one token's share of a step when the bigger chunks stop crossing the bottleneck edge,
    /// which the early windows cannot see: at most 1/q of the latency, q = floor(N/p) tokens per GPU.
    /// (100,000,000 tokens split evenly over 256 GPUs, 1,000,000 and the others do not.)
    @Test(
        "extrapolated == simulated every step",
        arguments: [
            ("dgx-h100:16", 1_000_000), ("dgx-h100:16", 100_000_037), ("2:1", 12_345_679), ("2:1", 100_000_000),
            ("dgx-h100-2tier:32", 100_000_037), ("dgx-h100-3tier:16", 3_000_001), ("compute-bound", 100_000_000),
            ("compute-bound", 99_999_999), ("dgx-h100:16", 1_921), ("dgx-h100:16", 1_983), ("dgx-h100-3tier:16", 2_000),
        ])
    func matchesExact(cluster name: String, tokens: Int) throws {
        // compute-bound: 0.1% of the H100's HBM bandwidth (3.35 GB/s) makes each block slower than its hop.
        let cluster =
            name == "2:1"
            ? try Self.oversubscribed() : try Cluster.resolve(name == "compute-bound" ? "dgx-h100:16" : name)
        let eta = name == "compute-bound" ? 0.001 : 1
        for strategy in [DecodeStrategy.ring(overlap: true), .ring(overlap: false), .ringSendrecv] {
            let exact = try Self.model(cluster, tokens: tokens, .exact, memoryEfficiency: eta).run(
                strategy, recording: false)
            let fast = try Self.model(cluster, tokens: tokens, .extrapolate, memoryEfficiency: eta).run(
                strategy, recording: false)
            if name == "compute-bound" { #expect(exact.compute.seconds > 0.9 * exact.latency.seconds) }
            #expect(fast.notes.contains { $0.contains("extrapolated") }, "\(name) \(strategy): not extrapolated")
            let label = "\(name) N=\(tokens) \(strategy)"
            func rel(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-300) }
            let latencyError = rel(fast.latency.seconds, exact.latency.seconds)
            print("extrapolation \(label): latency \(exact.latency) error \(latencyError)")
            let q = tokens / exact.gpus, bound = tokens % exact.gpus == 0 ? 1e-9 : 1 / Double(q)
            #expect(latencyError <= bound, "\(label): \(fast.latency) vs \(exact.latency)")
            #expect(fast.messages == exact.messages, "\(label)")
            #expect(rel(fast.elementsSentPerDevice, exact.elementsSentPerDevice) <= 1e-12, "\(label)")
            for (f, e) in zip(fast.bytesPerLinkClass, exact.bytesPerLinkClass) {
                #expect(f.name == e.name && rel(f.bytes, e.bytes) <= 1e-3, "\(label) \(e.name)")
            }
            let total = exact.latency.seconds
            for (f, e) in [
                (fast.compute, exact.compute), (fast.communication, exact.communication), (fast.idle, exact.idle),
            ] {
                #expect(abs(f.seconds - e.seconds) <= bound * total, "\(label) breakdown \(f) vs \(e)")
            }
        }
    }
}
