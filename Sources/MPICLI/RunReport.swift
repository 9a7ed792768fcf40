import CLICommon
import Distributed
import Foundation
import Reference

/// The `--report` JSON of `treeattn-mpi attention`: for every rank and phase, min/median/max wall time over the timed
/// runs and the bytes the rank sent; per run the step time (the slowest rank's total, every run starting after a
/// barrier) and its min/median/max.
struct RunReport {
    let command: MPIAttentionCommand
    let comm: Communicator
    let layout: ShardLayout
    let timings: [PhaseLog]

    static func stats(_ values: [Double]) -> [String: Any] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [:] }
        let mid = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        return ["min": sorted[0], "median": median, "max": sorted[sorted.count - 1]]
    }

    /// This rank's part, as JSON.
    func rankJSON() throws -> String {
        let names = timings.first?.entries.map(\.name) ?? []
        let phases: [[String: Any]] = names.enumerated().map { i, name in
            ["name": name, "seconds": Self.stats(timings.map { $0.entries[i].seconds }), "bytes_sent": timings.last!.entries[i].bytesSent]
        }
        let range = layout.ranges[comm.rank]
        return try jsonString(["rank": comm.rank, "keys": [range.lowerBound, range.upperBound], "phases": phases,
                               "total_seconds": Self.stats(timings.map(\.total)), "totals": timings.map(\.total),
                               "bytes_sent": timings.last?.entries.reduce(0) { $0 + $1.bytesSent } ?? 0] as [String: Any])
    }

    /// The whole report on rank 0 (nil elsewhere). Every rank must call it.
    func gathered(_ comm: Communicator) throws -> String? {
        guard let parts = try comm.gather(try rankJSON()) else { return nil }
        let ranks = try parts.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let totals = ranks.map { $0["totals"] as! [Double] }
        let steps = (0..<timings.count).map { run in totals.map { $0[run] }.max() ?? 0 }
        let s = command.problem
        let object: [String: Any] = [
            "schema_version": 1, "generator": "treeattn-mpi attention", "ranks": comm.size,
            "reduction": command.reduction.rawValue, "precision": s.precision.rawValue, "layout": s.layout.rawValue,
            "keys": layout.keys, "repeat": command.repeats, "warmup": command.warmup,
            "step_seconds": Self.stats(steps), "steps": steps,
            "per_rank": ranks.map { r in r.filter { $0.key != "totals" } },
            "notes": ["times are MPI_Wtime wall seconds; every run starts after an MPI_Barrier",
                      "bytes_sent: point-to-point bytes exactly; for collectives the buffer each rank contributes"],
        ]
        return try jsonString(object)
    }
}
