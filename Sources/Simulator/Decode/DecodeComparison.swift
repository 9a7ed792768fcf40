/// What `simulate decode` prints: one decode model (cluster, workload, options, step) and the report of every
/// strategy run on it, in the order asked. It renders itself as a table (`table`), JSON (`json()`, schema
/// `SimulatorModule.schemaVersion`) and CSV (`csv`).
public struct DecodeComparison: Sendable {
    /// The model every strategy ran on.
    public let model: DecodeModel
    /// One report per strategy.
    public let reports: [DecodeReport]
    /// Whether the overlapped ring was run as a baseline for the speedup column although it was not asked for.
    public let baselineRun: Bool

    /// Runs `strategies` on `model` (`DecodeModel.compare`); `ringBaseline` also runs the overlapped ring, when it is
    /// not among them, to fill the speedup column.
    public init(
        model: DecodeModel, strategies: [DecodeStrategy], recording: Bool = false, ringBaseline: Bool = false,
        progress: DecodeModel.Progress? = nil
    ) throws {
        self.model = model
        reports = try model.compare(strategies, recording: recording, baseline: ringBaseline, progress: progress)
        baselineRun = ringBaseline && !strategies.contains(.ring(overlap: true))
    }

    /// Whether the speedup column is empty because the overlapped ring (its baseline) did not run: neither asked for
    /// nor run as a baseline.
    public var speedupMissing: Bool { reports.allSatisfy { $0.speedupVsRing == nil } }

    /// Whether the step has a backward (its columns and keys are added then).
    var withBackward: Bool { model.step.includesBackward }
}
