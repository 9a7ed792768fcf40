import Foundation
import Reference

/// The `--report` JSON of `treeattn-mpi attention` (schema `schemaVersion`): for every rank and phase, min, median
/// and max wall time over the timed runs and the bytes the rank sent; per run the step time (the slowest rank's
/// total, every run starting after a barrier) and its min, median and max. Keys are snake_case, sorted.
public struct DistributedRunReport: Codable, Equatable, Sendable {
    /// The version of this JSON layout; it changes when a key changes meaning or disappears.
    public static let schemaVersion = 1

    /// Min, median and max of a set of timings, seconds.
    public struct Stats: Codable, Equatable, Sendable {
        /// The smallest value.
        public var min: Double
        /// The median (the mean of the middle two for an even count).
        public var median: Double
        /// The largest value.
        public var max: Double

        /// The statistics of `values` (all zero when there are none).
        public init(_ values: [Double]) {
            let sorted = values.sorted()
            guard !sorted.isEmpty else {
                (min, median, max) = (0, 0, 0)
                return
            }
            let mid = sorted.count / 2
            (min, max) = (sorted[0], sorted[sorted.count - 1])
            median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        }
    }

    /// One phase of a rank's runs (local attention, a collective, a hop).
    public struct Phase: Codable, Equatable, Sendable {
        /// The phase's name, as the reduction's `PhaseLog` entries call it.
        public var name: String
        /// Its wall time over the timed runs.
        public var seconds: Stats
        /// Bytes the rank sent in it in the last run.
        public var bytesSent: Int

        enum CodingKeys: String, CodingKey {
            case name, seconds
            case bytesSent = "bytes_sent"
        }
    }

    /// One rank's part.
    public struct Rank: Codable, Equatable, Sendable {
        /// The rank.
        public var rank: Int
        /// Its key shard, [first, end).
        public var keys: [Int]
        /// Its phases in the order they ran.
        public var phases: [Phase]
        /// Its total time per run over the timed runs.
        public var totalSeconds: Stats
        /// Its total time of each timed run (gathered to rank 0 to find each run's step time; not in the final
        /// report).
        public var totals: [Double]?
        /// Bytes sent in the last run, all phases.
        public var bytesSent: Int

        enum CodingKeys: String, CodingKey {
            case rank, keys, phases, totals
            case totalSeconds = "total_seconds"
            case bytesSent = "bytes_sent"
        }

        /// A rank's part from its timed runs' logs.
        public init(rank: Int, keys: Range<Int>, timings: [PhaseLog]) {
            self.rank = rank
            self.keys = [keys.lowerBound, keys.upperBound]
            let names = timings.first?.entries.map(\.name) ?? []
            phases = names.enumerated().map { i, name in
                Phase(
                    name: name, seconds: Stats(timings.map { $0.entries[i].seconds }),
                    bytesSent: timings.last!.entries[i].bytesSent)
            }
            totalSeconds = Stats(timings.map(\.total))
            totals = timings.map(\.total)
            bytesSent = timings.last?.entries.reduce(0) { $0 + $1.bytesSent } ?? 0
        }
    }

    /// `schemaVersion`.
    public var schemaVersion = DistributedRunReport.schemaVersion
    /// "treeattn-mpi attention".
    public var generator = "treeattn-mpi attention"
    /// The number of ranks.
    public var ranks: Int
    /// The distributed reduction (`DistributedReduction` raw value).
    public var reduction: String
    /// The compute precision (`Precision` raw value).
    public var precision: String
    /// The tensor layout (`TensorLayout` raw value).
    public var layout: String
    /// The total key count N over all ranks.
    public var keys: Int
    /// Timed runs (JSON key `repeat`).
    public var repeats: Int
    /// Untimed warm-up runs before the timed ones.
    public var warmup: Int
    /// The step time of each timed run (the slowest rank's total), in seconds.
    public var steps: [Double]
    /// Statistics of `steps`.
    public var stepSeconds: Stats
    /// Every rank's part, in rank order.
    public var perRank: [Rank]
    /// How to read the numbers.
    public var notes = [
        "times are MPI_Wtime wall seconds; every run starts after an MPI_Barrier",
        "bytes_sent: point-to-point bytes exactly; for collectives the buffer each rank contributes",
    ]

    enum CodingKeys: String, CodingKey {
        case generator, ranks, reduction, precision, layout, keys, warmup, steps, notes
        case schemaVersion = "schema_version"
        case repeats = "repeat"
        case stepSeconds = "step_seconds"
        case perRank = "per_rank"
    }

    /// The report of `job` from every rank's part: each run's step time is the slowest rank's total.
    public init(job: DistributedAttentionJob, keys: Int, ranks parts: [Rank]) {
        let totals = parts.map { $0.totals ?? [] }
        steps = (0..<job.repeats).map { run in totals.compactMap { run < $0.count ? $0[run] : nil }.max() ?? 0 }
        stepSeconds = Stats(steps)
        perRank = parts.map {
            var p = $0
            p.totals = nil
            return p
        }
        (ranks, reduction, precision, layout) = (
            parts.count, job.reduction.rawValue, job.problem.precision.rawValue,
            job.problem.layout.rawValue
        )
        (self.keys, repeats, warmup) = (keys, job.repeats, job.warmup)
    }

    /// Pretty JSON with sorted keys.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Gathers every rank's part to rank 0 and returns the report's JSON there (nil elsewhere). Every rank must
    /// call it.
    static func gather(_ part: Rank, job: DistributedAttentionJob, keys: Int, comm: Communicator) throws -> String? {
        let encoder = JSONEncoder()
        guard let texts = try comm.gather(String(decoding: try encoder.encode(part), as: UTF8.self)) else { return nil }
        let parts = try texts.map { try JSONDecoder().decode(Rank.self, from: Data($0.utf8)) }
        return try DistributedRunReport(job: job, keys: keys, ranks: parts).json()
    }
}
