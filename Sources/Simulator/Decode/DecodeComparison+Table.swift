import Foundation

extension DecodeComparison {
    /// The text table `simulate decode` prints: a heading with the cluster and workload, one row per strategy
    /// (latency and its breakdown, volumes, peak memory, speedup vs ring), the bytes per link class, and the notes.
    public var table: String {
        let w = model.workload
        func number(_ x: Double?) -> String { x.map { String(format: "%.4g", $0) } ?? "-" }
        let header: [String], rows: [[String]]
        if withBackward {
            // The step's latency and breakdown, then the forward and the backward each alone, side by side.
            header = [
                "strategy", "gpus", "latency", "compute", "comm", "overhead", "idle", "fwd alone", "bwd alone",
                "fwd sent/dev", "bwd sent/dev", "paper V fwd", "paper V bwd", "peak mem/dev", "vs ring",
            ]
            rows = reports.map { r -> [String] in
                [
                    r.strategy, "\(r.gpus)", r.latency.description, r.compute.description, r.communication.description,
                    r.overhead.description, r.idle.description, r.forwardLatency?.description ?? "-",
                    r.backwardLatency?.description ?? "-", number(r.elementsSentPerDevice),
                    number(r.backwardElementsSentPerDevice),
                    number(r.paperVolumeElements), number(r.paperBackwardVolumeElements),
                    formatBytes(r.peakMemoryBytes) + (r.fitsInMemory ? "" : " (!)"),
                    r.speedupVsRing.map { String(format: "%.2fx", $0) } ?? "-",
                ]
            }
        } else {
            header = [
                "strategy", "gpus", "latency", "compute", "comm", "overhead", "idle", "sent/dev (elem)",
                "paper V", "peak mem/dev", "paper mem (elem)", "vs ring",
            ]
            rows = reports.map { r -> [String] in
                [
                    r.strategy, "\(r.gpus)", r.latency.description, r.compute.description, r.communication.description,
                    r.overhead.description, r.idle.description, String(format: "%.4g", r.elementsSentPerDevice),
                    r.paperVolumeElements.map { String(format: "%.4g", $0) } ?? "-",
                    formatBytes(r.peakMemoryBytes) + (r.fitsInMemory ? "" : " (!)"),
                    r.paperPeakMemoryElements.map { String(format: "%.4g", $0) } ?? "-",
                    r.speedupVsRing.map { String(format: "%.2fx", $0) } ?? "-",
                ]
            }
        }
        var text =
            "\(model.cluster.name): \(model.gpus) x \(model.cluster.gpu.label); N=\(w.sequenceLength) b=\(w.batch) n_h=\(w.heads) n_kv=\(w.kvHeads) d_h=\(w.headDim)\(w.valueDim == w.headDim ? "" : " d_v=\(w.valueDim)")\(w.latentKV ? " latent K/V" : "") \(w.dtype)"
        text += withBackward ? "; \(model.step.rawValue) step (sent/dev in elements)\n" : "\n"
        text += renderTable(header, rows)
        var linkRows: [[String]] = []
        for r in reports {
            let parts = r.bytesPerLinkClass.filter { $0.bytes > 0 }.map { "\($0.name) \(formatBytes($0.bytes))" }
            linkRows.append([r.strategy, parts.isEmpty ? "-" : parts.joined(separator: ", ")])
        }
        text += "\n\n" + renderTable(["strategy", "bytes carried per link class"], linkRows)
        var notes = reports.flatMap { r in r.notes.map { "\(r.strategy): \($0)" } }
        if speedupMissing {
            notes.append(
                "vs ring: the overlapped ring (this column's baseline) was not run; add ring to --strategy, or pass --ring-baseline to run it for this column only"
            )
        }
        if !notes.isEmpty { text += "\n\nnotes:\n" + notes.map { "  " + $0 }.joined(separator: "\n") }
        return text
    }
}
