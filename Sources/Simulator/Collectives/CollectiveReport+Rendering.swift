import Foundation

extension CollectiveReport {
    /// The text table `simulate collective` prints: the cluster, the operation and algorithm, the size, the time and
    /// both bandwidths; for event simulations the messages, events and bytes per link class; the note.
    public var table: String {
        var rows: [[String]] = [
            ["cluster", "\(cluster) (\(ranks) GPUs)"],
            ["operation", operation.rawValue],
            ["algorithm", "\(algorithm) (\(method))"],
            ["size", "\(formatBytes(bytes)) (\(String(format: "%.0f", bytes)) B)"],
            ["time", time.description],
            ["algBw", formatBandwidth(algorithmBandwidth)],
            ["busBw", formatBandwidth(busBandwidth)],
        ]
        if method != "nccl-model" {
            rows.append(["messages", "\(messages)"])
            rows.append(["events", "\(events)"])
            for (name, b) in bytesPerLinkClass where b > 0 { rows.append(["bytes on \(name)", formatBytes(b)]) }
        }
        if !note.isEmpty { rows.append(["note", note]) }
        return renderTable(["quantity", "value"], rows)
    }

    /// The report as CSV: one header and one row, with the JSON's keys as columns (bytes per link class as
    /// `bytes_<class>` columns).
    public var csv: CSVTable {
        let links = bytesPerLinkClass.map(\.name)
        var table = CSVTable(
            header: [
                "cluster", "gpus", "operation", "algorithm", "method", "bytes", "time_s", "alg_bw_GBps",
                "bus_bw_GBps", "events", "messages",
            ] + links.map { "bytes_\($0)" } + ["note"])
        table.rows.append(
            [
                cluster, "\(ranks)", operation.rawValue, algorithm, method, CSVTable.number(bytes),
                CSVTable.number(time.seconds),
                CSVTable.number(algorithmBandwidth / 1e9), CSVTable.number(busBandwidth / 1e9), "\(events)",
                "\(messages)",
            ]
                + bytesPerLinkClass.map { CSVTable.number($0.bytes) } + [note])
        return table
    }

    /// The JSON document of `simulate collective --format json` (keys in docs/simulator.md), sorted keys,
    /// pretty-printed.
    public func json() throws -> String { try JSONText.pretty(Document(self)) }

    /// The document: `schema_version` (`SimulatorModule.schemaVersion`) and the report's numbers, bandwidths in GB/s.
    struct Document: Encodable {
        var schemaVersion = SimulatorModule.schemaVersion
        var cluster: String, gpus: Int, operation: String, algorithm: String, method: String
        var bytes: Double, timeS: Double, algBwGBps: Double, busBwGBps: Double
        var events: Int, messages: Int, bytesPerLinkClass: [String: Double], note: String

        enum CodingKeys: String, CodingKey {
            case cluster, gpus, operation, algorithm, method, bytes, events, messages, note
            case schemaVersion = "schema_version", timeS = "time_s", algBwGBps = "alg_bw_GBps", busBwGBps =
                "bus_bw_GBps"
            case bytesPerLinkClass = "bytes_per_link_class"
        }

        init(_ r: CollectiveReport) {
            (cluster, gpus, operation, algorithm, method) = (
                r.cluster, r.ranks, r.operation.rawValue, r.algorithm, r.method
            )
            (bytes, timeS, algBwGBps, busBwGBps) = (
                r.bytes, r.time.seconds, r.algorithmBandwidth / 1e9, r.busBandwidth / 1e9
            )
            (events, messages, note) = (r.events, r.messages, r.note)
            bytesPerLinkClass = Dictionary(
                r.bytesPerLinkClass.map { ($0.name, $0.bytes) }, uniquingKeysWith: { _, last in last })
        }
    }
}

extension CollectiveReport {
    /// A Chrome/Perfetto trace of the recorded execution on `cluster`'s devices; the NCCL model, being closed-form,
    /// has nothing to trace (an error).
    public func trace(on cluster: Cluster) throws -> ChromeTrace {
        guard let execution else {
            throw SimulatorError.unsupported("the NCCL model is closed-form: there is nothing to trace")
        }
        var t = ChromeTrace()
        t.add(
            execution, section: "\(operation) \(algorithm)",
            deviceNames: cluster.gpus.map { cluster.network.nodes[$0].name })
        return t
    }
}
