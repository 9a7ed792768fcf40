import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn simulate collective`: one collective on a cluster, event-simulated or from the NCCL model.
struct SimulateCollectiveCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "collective",
        abstract: "Simulate one collective (time, algBw, busBw with nccl-tests conventions).",
        discussion: """
            Algorithms: \(CollectiveAlgorithm.usage).
            Sizes follow nccl-tests: the per-rank buffer for allreduce/broadcast, the total output for allgather,
            the total input for reducescatter. GB = 1e9 bytes. An unsupported (operation, algorithm) pair is an
            error, never a silent fallback.
            """)

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @Option(name: .long, help: "allreduce, allgather, reducescatter or broadcast.")
    var op: String = "allreduce"

    @Option(name: .long, help: "Collective algorithm (see below).")
    var algorithm: String = "ring"

    @Option(name: .long, help: "Message size: 1048576, 1e9, 64MB, 1MiB, ...")
    var bytes: String

    @Option(name: .long, help: "Segments for pipelined trees/chains (default: ceil(bytes / 1 MiB)).")
    var segments: Int?

    @Option(name: .long, help: "Channel pacing: back-to-back or after-delivery.")
    var pacing: ChannelPacing = .backToBack

    @Option(name: .long, help: "Reduction cost in seconds per byte (gamma).")
    var gamma: Double = 0

    @Option(name: .long, help: "table or json.")
    var format: CollectiveFormat = .table

    @Option(name: .long, help: "Write a Chrome/Perfetto trace JSON here.")
    var trace: String?

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard gamma >= 0, gamma.isFinite else { throw SimulatorError.invalidArgument("--gamma must be >= 0") }
        if let s = segments, s < 1 { throw SimulatorError.invalidArgument("--segments must be >= 1") }
    }

    func run() throws {
        // The trace's location is checked (and reserved) before the simulation runs.
        let traceFile = try trace.map { try AtomicOutputs([$0]) }
        defer { traceFile?.discard() }
        let cluster = try clusterOptions.load()
        let collective = try Collective(try CollectiveOperation.parse(op), algorithm: try CollectiveAlgorithm.parse(algorithm),
                                        bytes: try parseBytes(bytes),
                                        options: CollectiveOptions(reductionSecondsPerByte: gamma, segments: segments, pacing: pacing))
        let report = try collective.run(on: cluster, recording: trace != nil)
        if let path = trace {
            guard let execution = report.execution else {
                throw SimulatorError.unsupported("the NCCL model is closed-form: there is nothing to trace")
            }
            var t = ChromeTrace()
            t.add(execution, section: "\(report.operation) \(report.algorithm)",
                  deviceNames: cluster.gpus.map { cluster.network.nodes[$0].name })
            try traceFile?.write([UInt8](try t.jsonData()), to: path)
            try traceFile?.commit()
        }
        switch format {
        case .json:
            var linkBytes: [String: Any] = [:]
            for (name, b) in report.bytesPerLinkClass { linkBytes[name] = b }
            print(try jsonString([
                "schema_version": SimulatorModule.schemaVersion, "cluster": report.cluster, "gpus": report.ranks,
                "operation": report.operation.rawValue, "algorithm": report.algorithm, "method": report.method,
                "bytes": report.bytes, "time_s": report.time.seconds,
                "alg_bw_GBps": report.algorithmBandwidth / 1e9, "bus_bw_GBps": report.busBandwidth / 1e9,
                "events": report.events, "messages": report.messages, "bytes_per_link_class": linkBytes,
                "note": report.note,
            ]))
        case .table:
            var rows: [[String]] = [
                ["cluster", "\(report.cluster) (\(report.ranks) GPUs)"],
                ["operation", report.operation.rawValue],
                ["algorithm", "\(report.algorithm) (\(report.method))"],
                ["size", "\(formatBytes(report.bytes)) (\(String(format: "%.0f", report.bytes)) B)"],
                ["time", report.time.description],
                ["algBw", formatBandwidth(report.algorithmBandwidth)],
                ["busBw", formatBandwidth(report.busBandwidth)],
            ]
            if report.method != "nccl-model" {
                rows.append(["messages", "\(report.messages)"])
                rows.append(["events", "\(report.events)"])
                for (name, b) in report.bytesPerLinkClass where b > 0 { rows.append(["bytes on \(name)", formatBytes(b)]) }
            }
            if !report.note.isEmpty { rows.append(["note", report.note]) }
            print(renderTable(["quantity", "value"], rows))
        }
    }
}
