import Foundation
import Testing

@testable import Simulator

/// `RankTimeline` (the explainer's per-GPU timelines) against a hand-made run and against `ActivityBreakdown`, which
/// measures unions of intervals where the timeline sweeps their boundaries.
@Suite("Rank timelines")
struct RankTimelineTests {
    static func ps(_ x: Int64) -> SimTime { SimTime(picoseconds: x) }

    @Test("precedence: compute over overhead over communication, idle elsewhere")
    func handMade() {
        let result = ExecutionResult(
            makespan: Self.ps(40), rankFinish: [Self.ps(40), Self.ps(40)], events: 0, messages: 1, bytesSent: [8, 0],
            bytesPerLinkClass: [],
            transfers: [
                TransferRecord(
                    sourceRank: 0, destinationRank: 1, bytes: 8, start: Self.ps(15), transmitted: Self.ps(30),
                    delivered: Self.ps(35))
            ],
            activities: [
                ActivityRecord(rank: 0, kind: .compute, label: "k", start: Self.ps(0), end: Self.ps(10)),
                ActivityRecord(rank: 0, kind: .overhead, label: "o", start: Self.ps(5), end: Self.ps(20)),
                ActivityRecord(rank: 0, kind: .compute, label: "k", start: Self.ps(25), end: Self.ps(27)),
            ])
        let t = RankTimeline(result, ranks: 2)
        let rank0 = t.ranks[0].map { [$0.activity.rawValue, Int($0.start.picoseconds), Int($0.end.picoseconds)] }
        #expect(rank0 == [[0, 0, 10], [1, 10, 20], [2, 20, 25], [0, 25, 27], [2, 27, 30], [3, 30, 40]])
        let rank1 = t.ranks[1].map { [$0.activity.rawValue, Int($0.start.picoseconds), Int($0.end.picoseconds)] }
        #expect(rank1 == [[3, 0, 15], [2, 15, 35], [3, 35, 40]])
        #expect(t.meanPicoseconds(.idle) == (10 + 20) / 2)
    }

    /// Every decode strategy, with per-message overheads and launches (so every activity occurs): each rank's
    /// segments tile [0, makespan], adjacent ones differ, and each activity's mean is the breakdown's.
    @Test(
        "every strategy: segments tile the makespan and sum to the breakdown", arguments: ["dgx-h100:2", "dgx-a100:4"])
    func decodeStrategies(cluster name: String) throws {
        let cluster = try Cluster.resolve(name)
        let workload = try DecodeWorkload(sequenceLength: 100_003, heads: 16, kvHeads: 4, headDim: 128)
        var options = DecodeOptions()
        options.perMessage = .microseconds(3)
        options.kernelLaunch = .microseconds(2)
        let model = try DecodeModel(cluster: cluster, workload: workload, options: options)
        for s in try ["tree", "tree:ring", "ring", "ring-sequential", "pass-partials", "gather"].map(
            DecodeStrategy.parse)
        {
            let r = try model.run(s, recording: true)
            let execution = try #require(r.execution)
            let t = RankTimeline(execution, ranks: r.gpus)
            #expect(t.ranks.count == r.gpus)
            for segments in t.ranks {
                #expect(segments.first?.start == .zero && segments.last?.end == r.latency, "\(s)")
                #expect(
                    zip(segments, segments.dropFirst()).allSatisfy { $0.end == $1.start && $0.activity != $1.activity })
                #expect(segments.allSatisfy { $0.end > $0.start })
            }
            let b = ActivityBreakdown(execution, ranks: r.gpus)
            let shares = [b.compute, b.overhead, b.communication, b.idle]
            for (activity, share) in zip(RankTimeline.Activity.allCases, shares) {
                let mine = t.meanPicoseconds(activity) * 1e-12
                #expect(abs(mine - share) <= 1e-12 * max(share, 1e-9), "\(s) \(activity.name): \(mine) vs \(share)")
            }
            #expect(t.meanPicoseconds(.compute) > 0 && t.meanPicoseconds(.overhead) > 0, "\(s)")
        }
    }
}
