import Foundation
import TreeCore

/// What `simulate prefill` prints: every strategy asked for on one model, rendered as a table, JSON
/// (`SimulatorModule.schemaVersion`), CSV and a Chrome/Perfetto trace.
public struct PrefillComparison: Sendable {
    /// The model every strategy ran on.
    public let model: PrefillModel
    /// One report per strategy.
    public let reports: [PrefillReport]

    /// Runs `strategies` on `model` (`PrefillModel.compare`); `recording` keeps what a trace needs.
    public init(
        model: PrefillModel, strategies: [PrefillStrategy], recording: Bool = false,
        progress: PrefillModel.Progress? = nil
    ) throws {
        self.model = model
        reports = try model.compare(strategies, recording: recording, progress: progress)
    }

    /// The text table: a heading with the cluster and workload, one row per strategy, and the notes.
    public var table: String {
        let w = model.workload
        let header = [
            "strategy", "gpus", "latency", "compute", "comm", "idle", "sent/dev", "max pairs/dev", "imbalance",
            "peak mem/dev", "vs ring",
        ]
        let rows = reports.map { r -> [String] in
            [
                r.strategy, "\(r.gpus)", r.latency.description, r.compute.description, r.communication.description,
                r.idle.description, formatBytes(r.bytesSentPerDevice), "\(r.maxVisiblePairsPerDevice)",
                String(format: "%.3f", r.imbalance), formatBytes(r.peakMemoryBytes) + (r.fitsInMemory ? "" : " (!)"),
                r.speedupVsRing.map { String(format: "%.2fx", $0) } ?? "-",
            ]
        }
        var text =
            "\(model.cluster.name): \(model.gpus) x \(model.cluster.gpu.label); prefill of one layer, n=\(w.sequenceLength) b=\(w.batch) n_h=\(w.heads) n_kv=\(w.kvHeads) d_h=\(w.headDim)\(w.valueDim == w.headDim ? "" : " d_v=\(w.valueDim)") \(w.dtype)\(model.causal ? " causal" : "")\n"
        text += renderTable(header, rows)
        let notes = reports.flatMap { r in r.notes.map { "\(r.strategy): \($0)" } }
        if !notes.isEmpty { text += "\n\nnotes:\n" + notes.map { "  " + $0 }.joined(separator: "\n") }
        return text
    }

    /// The CSV columns.
    public static let csvHeader = [
        "strategy", "gpus", "latency_s", "compute_s", "communication_s", "idle_s", "bytes_sent_per_device",
        "max_bytes_sent_per_device", "visible_pairs", "max_visible_pairs_per_device", "imbalance", "peak_memory_bytes",
        "fits_in_memory", "speedup_vs_ring",
    ]

    /// One row per strategy (numbers in Swift's shortest round-trip form, an absent value as an empty cell).
    public var csv: CSVTable {
        var table = CSVTable(header: Self.csvHeader)
        for r in reports {
            table.rows.append([
                r.strategy, "\(r.gpus)", "\(r.latency.seconds)", "\(r.compute.seconds)", "\(r.communication.seconds)",
                "\(r.idle.seconds)", "\(r.bytesSentPerDevice)", "\(r.maxBytesSentPerDevice)", "\(r.visiblePairs)",
                "\(r.maxVisiblePairsPerDevice)", "\(r.imbalance)", "\(r.peakMemoryBytes)", "\(r.fitsInMemory)",
                r.speedupVsRing.map { "\($0)" } ?? "",
            ])
        }
        return table
    }

    /// The JSON document (sorted keys, pretty-printed): `schema_version`, the cluster, the workload and options (the
    /// decode document's keys), `causal` and one entry per strategy with the CSV's columns as keys.
    public func json() throws -> String { try JSONText.pretty(Document(self)) }

    struct Document: Encodable {
        var schemaVersion = SimulatorModule.schemaVersion
        var cluster: String, gpus: Int, gpu: String, causal: Bool
        var workload: DecodeComparison.Workload, options: Options
        var strategies: [[String: JSONValue]]

        /// The columns written as exact integers.
        static let integers: Set<String> = ["gpus", "visible_pairs", "max_visible_pairs_per_device"]

        enum CodingKeys: String, CodingKey {
            case cluster, gpus, gpu, causal, workload, options, strategies
            case schemaVersion = "schema_version"
        }

        init(_ c: PrefillComparison) {
            (cluster, gpus, gpu, causal) = (
                c.model.cluster.name, c.model.gpus, c.model.cluster.gpu.name, c.model.causal
            )
            workload = DecodeComparison.Workload(c.model.workload)
            options = Options(c.model.options)
            let table = c.csv
            strategies = table.rows.map { row in
                var entry: [String: JSONValue] = [:]
                for (key, cell) in zip(table.header, row) {
                    if Self.integers.contains(key), let n = Int(cell) {
                        entry[key] = .integer(n)  // exact (pair counts go past 2^53)
                    } else if key == "strategy" {
                        entry[key] = .text(cell)
                    } else if key == "fits_in_memory" {
                        entry[key] = .flag(cell == "true")
                    } else {
                        entry[key] = Double(cell).map { .number($0) } ?? .null
                    }
                }
                return entry
            }
        }
    }

    /// The overheads and efficiencies the model used (the decode document's keys that apply to prefill).
    struct Options: Encodable {
        var kernelLaunchS: Double, perMessageS: Double, memoryEfficiency: Double, computeEfficiency: Double

        enum CodingKeys: String, CodingKey {
            case kernelLaunchS = "kernel_launch_s", perMessageS = "per_message_s"
            case memoryEfficiency = "memory_efficiency", computeEfficiency = "compute_efficiency"
        }

        init(_ o: DecodeOptions) {
            (kernelLaunchS, perMessageS) = (o.kernelLaunch.seconds, o.perMessage.seconds)
            (memoryEfficiency, computeEfficiency) = (o.memoryEfficiency, o.computeEfficiency)
        }
    }

    /// A JSON cell of a strategy's entry.
    enum JSONValue: Encodable {
        case text(String), number(Double), integer(Int), flag(Bool), null

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .text(let s): try c.encode(s)
            case .number(let x): try c.encode(x)
            case .integer(let n): try c.encode(n)
            case .flag(let b): try c.encode(b)
            case .null: try c.encodeNil()
            }
        }
    }

    /// A Chrome/Perfetto trace of every strategy run with `recording`: one section per strategy, one track per device.
    public func trace() -> ChromeTrace {
        var t = ChromeTrace()
        for r in reports {
            guard let e = r.execution else { continue }
            let names = (0..<r.gpus).map { model.cluster.network.nodes[model.cluster.gpus[$0]].name }
            t.add(e, section: r.strategy, deviceNames: names)
        }
        return t
    }
}
