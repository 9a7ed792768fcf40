extension DecodeComparison {
    /// The CSV columns: the forward's, then (for a step with a backward) the step and the backward's.
    public var csvHeader: [String] {
        [
            "strategy", "gpus", "latency_s", "compute_s", "communication_s", "overhead_s", "idle_s",
            "elements_sent_per_device",
            "paper_volume_elements", "peak_memory_elements", "peak_memory_bytes", "paper_peak_memory_elements",
            "fits_in_memory",
            "speedup_vs_ring",
        ]
            + (withBackward
                ? [
                    "step", "forward_latency_s", "backward_latency_s", "backward_elements_sent_per_device",
                    "paper_backward_volume_elements",
                ] : [])
    }

    /// One row per strategy (numbers in Swift's shortest round-trip form, an absent value as an empty cell).
    public var csv: CSVTable {
        func text(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        var table = CSVTable(header: csvHeader)
        for r in reports {
            var cells: [String] = [
                r.strategy, "\(r.gpus)", "\(r.latency.seconds)", "\(r.compute.seconds)",
                "\(r.communication.seconds)", "\(r.overhead.seconds)", "\(r.idle.seconds)",
                "\(r.elementsSentPerDevice)", text(r.paperVolumeElements), "\(r.peakMemoryElements)",
                "\(r.peakMemoryBytes)", text(r.paperPeakMemoryElements), "\(r.fitsInMemory)",
                text(r.speedupVsRing),
            ]
            if withBackward {
                cells += [
                    r.step.rawValue, text(r.forwardLatency?.seconds), text(r.backwardLatency?.seconds),
                    text(r.backwardElementsSentPerDevice), text(r.paperBackwardVolumeElements),
                ]
            }
            table.rows.append(cells)
        }
        return table
    }
}
