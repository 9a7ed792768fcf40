import Foundation
import Simulator

/// The `--trace` and `--format` outputs of `simulate collective`, `decode` and `prefill`: the trace's path is checked
/// and reserved before the simulation runs (`init`); `finish` writes the trace and prints the report in the format
/// asked for. A trace on standard output is the command's output: the report is not printed after it.
struct SimulationOutput {
    let format: SimulateFormat
    let trace: String?
    private let traceFile: AtomicOutputs?

    /// Reserves `trace` (when given; `-` or /dev/stdout for standard output), which must not be the cluster file.
    init(format: SimulateFormat, trace: String?, cluster: String) throws {
        self.format = format
        self.trace = trace
        traceFile = try trace.map { try AtomicOutputs([$0], inputs: [cluster], standardOutput: true) }
    }

    /// Whether the simulation must record its transfers and intervals (a trace was asked for).
    var recording: Bool { trace != nil }

    /// Writes the trace (when asked for), then prints the report unless the trace went to standard output.
    func finish(
        trace makeTrace: () throws -> ChromeTrace, table: () -> String, json: () throws -> String, csv: () -> CSVTable
    ) throws {
        if let path = trace, let traceFile {
            try traceFile.write([UInt8](try makeTrace().jsonData()), to: path)
            try traceFile.commit()
        }
        if let trace, AtomicFile.isStandardOutput(trace) { return }
        switch format {
        case .table: print(table())
        case .json: print(try json())
        case .csv: print(csv().render(), terminator: "")
        }
    }

    /// Removes a reserved trace that was not written (the command failed).
    func discard() { traceFile?.discard() }
}
