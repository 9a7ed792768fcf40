import Foundation
import Testing

@testable import Simulator

/// The breakdown accumulated while a run goes (`BusyTimeline`) against the one measured from the run's records
/// (`ActivityBreakdown(records)`: sort each rank's intervals, measure the union), and the union lists staying short.
@Suite("Streaming breakdown")
struct BusyTimelineTests {
    /// Measure of the union of intervals, by sorting (independent of `IntervalUnion`).
    static func unionMeasure(_ intervals: [(Int64, Int64)]) -> Int64 {
        Int64(ActivityBreakdown.measure(intervals))
    }

    @Test("IntervalUnion with folding equals the sorted union on random intervals")
    func randomIntervals() {
        var rng = EventHeapTests.SplitMix(seed: 7)
        for trial in 0..<200 {
            var u = BusyTimeline.IntervalUnion()
            var all: [(Int64, Int64)] = []
            // Intervals arrive in the order of a run: each starts at or after the frontier, which only moves forward.
            var frontier: Int64 = 0
            for _ in 0..<(50 + trial) {
                frontier += Int64(rng.next() % 5)
                let s = frontier + Int64(rng.next() % 40), e = s + Int64(rng.next() % 30)
                u.insert(s, e)
                all.append((s, e))
                if rng.next() % 7 == 0 { u.fold(before: frontier) }
                // The spans stay sorted, disjoint and non-touching.
                for k in 0..<u.count {
                    #expect(u.spans[2 * k] < u.spans[2 * k + 1])
                    if k > 0 { #expect(u.spans[2 * k - 1] < u.spans[2 * k]) }
                }
            }
            #expect(u.measure == Self.unionMeasure(all), "trial \(trial)")
        }
    }

    /// Every strategy on clusters with and without per-message overhead, contention and fat-tree routing: the
    /// accumulated breakdown equals the recorded one exactly (the same integer picosecond measures).
    @Test(
        "decode strategies: streaming breakdown == recorded breakdown",
        arguments: ["dgx-h100:2", "cpu-star-4.yaml", "dgx-h100-2tier:4"])
    func decodeStrategies(cluster name: String) throws {
        let cluster = try Cluster.resolve(name.hasSuffix(".yaml") ? ClusterTests.fixtures + "/" + name : name)
        let workload = try DecodeWorkload(sequenceLength: 100_003, heads: 16, kvHeads: 4, headDim: 128)
        let strategies = try [
            "tree", "tree:ring", "ring", "ring-sequential", "ring-sendrecv", "tree-reduce", "pass-partials",
            "gather", "single",
        ].map(DecodeStrategy.parse)
        for perMessage in [SimTime.zero, .microseconds(3)] {
            var options = DecodeOptions()
            options.perMessage = perMessage
            options.kernelLaunch = .microseconds(2)
            for step in [DecodeStep.forward, .training] {
                let model = try DecodeModel(cluster: cluster, workload: workload, options: options, step: step)
                for s in strategies {
                    if step == .training, (try? s.program.backward()) == nil { continue }
                    let r = try model.run(s, recording: true)
                    let recorded = ActivityBreakdown(try #require(r.execution), ranks: r.gpus)
                    let label = "\(name) \(s) \(step) overhead \(perMessage)"
                    #expect(r.compute.picoseconds == SimTime.seconds(recorded.compute).picoseconds, "\(label)")
                    #expect(
                        r.communication.picoseconds == SimTime.seconds(recorded.communication).picoseconds, "\(label)")
                    #expect(r.overhead.picoseconds == SimTime.seconds(recorded.overhead).picoseconds, "\(label)")
                    #expect(r.idle.picoseconds == SimTime.seconds(recorded.idle).picoseconds, "\(label)")
                    #expect(try #require(r.execution?.breakdown) == recorded, "\(label)")
                    // And without the records: the same numbers.
                    let quiet = try model.run(s, recording: false)
                    #expect(quiet.execution == nil)
                    #expect(
                        quiet.compute == r.compute && quiet.communication == r.communication
                            && quiet.overhead == r.overhead && quiet.idle == r.idle, "\(label)")
                }
            }
        }
    }

    /// A ring over 256 GPUs sends 65,280 messages; with idle gaps between blocks (compute-bound, messages shorter
    /// than a block) and without, no rank's union ever holds more than a few spans.
    @Test("a 256-GPU ring keeps every rank's union short", arguments: [1_000_000, 200_000_000])
    func ringStaysShort(tokens: Int) throws {
        let cluster = try Cluster.resolve("dgx-h100:32")
        let w = try DecodeWorkload(sequenceLength: tokens, heads: 16, headDim: 128)
        let model = try DecodeModel(cluster: cluster, workload: w)
        let built = try RingDecode(overlap: true).build(
            DecodeContext(
                workload: w, options: model.options, roofline: try model.roofline(), cluster: cluster,
                tokens: try model.shardTokens(ranks: 256)))
        var sim = Simulation(
            NetworkModel(
                network: FlowScheduler(network: cluster.network),
                observer: try Executor(devices: cluster.gpus, phases: built.phases, breakdown: true)))
        sim.handler.observer.start(network: &sim.handler.network, queue: &sim.queue)
        sim.run()
        let spans = sim.handler.observer.busySpanHighWater
        #expect(spans > 0 && spans <= 32, "high water \(spans) spans")
        let result = try sim.handler.observer.result(network: sim.handler.network, events: sim.eventsHandled)
        #expect(result.messages == 256 * 255)
        let recorded = try model.run(.ring(overlap: true), recording: true)
        #expect(result.breakdown == ActivityBreakdown(try #require(recorded.execution), ranks: 256))
    }
}
