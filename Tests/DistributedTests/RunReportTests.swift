import Foundation
import Testing

@testable import Distributed

/// The `--report` JSON: statistics, the step time of each run (the slowest rank's), the schema's keys, read back by
/// Foundation's JSON parser.
@Suite struct RunReportTests {
    @Test func statisticsAreMinMedianMax() {
        let odd = DistributedRunReport.Stats([3, 1, 2])
        #expect(odd.min == 1 && odd.median == 2 && odd.max == 3)
        let even = DistributedRunReport.Stats([4, 1, 3, 2])
        #expect(even.min == 1 && even.median == 2.5 && even.max == 4)
        #expect(DistributedRunReport.Stats([]).median == 0)
    }

    @Test func stepsAreTheSlowestRankOfEachRun() throws {
        var job = DistributedAttentionJob(inputs: .random(.init(batch: 1, heads: 1, queries: 1, keys: 8, headDim: 2)))
        (job.repeats, job.warmup, job.reduction) = (3, 1, .ring)
        let a = DistributedRunReport.Rank(rank: 0, keys: 0..<4, timings: [])
        var r0 = a, r1 = a
        r0.totals = [1.0, 5.0, 2.0]
        (r1.rank, r1.keys, r1.totals) = (1, [4, 8], [2.0, 1.0, 3.0])
        let report = DistributedRunReport(job: job, keys: 8, ranks: [r0, r1])
        #expect(report.steps == [2.0, 5.0, 3.0])
        #expect(report.stepSeconds == DistributedRunReport.Stats([2, 5, 3]))
        #expect(report.perRank.allSatisfy { $0.totals == nil })
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "schema_version", "generator", "ranks", "reduction", "precision", "layout", "keys", "repeat",
                "warmup", "step_seconds", "steps", "per_rank", "notes",
            ])
        #expect(object["schema_version"] as? Int == DistributedRunReport.schemaVersion)
        #expect(
            object["reduction"] as? String == "ring" && object["repeat"] as? Int == 3 && object["ranks"] as? Int == 2)
        let ranks = try #require(object["per_rank"] as? [[String: Any]])
        #expect(Set(ranks[1].keys) == ["rank", "keys", "phases", "total_seconds", "bytes_sent"])
        #expect(ranks[1]["keys"] as? [Int] == [4, 8])
    }
}
