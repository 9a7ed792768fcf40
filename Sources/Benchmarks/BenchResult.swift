import Foundation

/// One measured ratio of `bench reference`: an attention run's rate next to its baseline's, measured alternately in
/// the same process.
public struct BenchResult: Codable, Sendable {
    /// "prefill", "backward" or "decode".
    public var kind: String
    /// "f64" or "f32".
    public var precision: String
    /// The problem, e.g. "b=1 hq=8 hkv=8 sq=2048 sk=2048 d=128 causal".
    public var shape: String
    /// Best time of the attention run.
    public var seconds: Double
    /// GFLOP/s (prefill, backward) or GB/s of K/V (decode).
    public var rate: Double
    /// "GFLOP/s" or "GB/s".
    public var unit: String
    /// The baseline's name ("dgemm", "sgemm", "streaming read").
    public var baselineName: String
    /// The baseline's rate on this machine, in `unit`.
    public var baselineRate: Double
    /// rate / baselineRate (for decode: the baseline's time over the run's).
    public var ratio: Double
    /// The ratio the kernel aims at.
    public var goal: Double
    /// Decode only: the highest ratio this machine allows, the same bytes streamed on every core with the decode's
    /// FMAs per element done in registers (`tk_stream_fma`, no softmax, no reloads) over the streaming read, capped at
    /// 1. Below `goal`, no decode kernel doing that arithmetic reaches the goal here.
    public var ceiling: Double? = nil

    /// The result as one line of text, flagged when below its goal (and, for decode, with its ceiling).
    public var textLine: String {
        var line = String(
            format: "%@ %@ %@: %.4f s, %.2f %@; %@ %.2f %@; ratio %.2f (goal >= %.2f", kind, precision, shape,
            seconds, rate, unit, baselineName, baselineRate, unit, ratio, goal)
        if let ceiling { line += String(format: ", ceiling %.2f", ceiling) }
        line += ")"
        if ratio < goal {
            line +=
                ceiling.map { $0 < goal ? "  BELOW GOAL (ceiling below goal: out of reach here)" : "  BELOW GOAL" }
                ?? "  BELOW GOAL"
        }
        return line
    }
}

/// `bench reference --json`: the machine, the kernel's blocking and every result.
public struct BenchReport: Codable, Sendable {
    /// Where it ran.
    public var machine: BenchMachine
    /// Kernel tile: query rows, keys per block, keys per parallel chunk, rows per diagonal band.
    public var blocking: [Int]
    /// The results in the order measured.
    public var results: [BenchResult]

    /// A report of `results` measured on `machine` with `blocking`.
    public init(machine: BenchMachine, blocking: [Int], results: [BenchResult]) {
        (self.machine, self.blocking, self.results) = (machine, blocking, results)
    }
}
