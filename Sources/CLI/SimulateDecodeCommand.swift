import ArgumentParser
import CLICommon
import Foundation
import Simulator

/// `treeattn simulate decode`: one decode step under several strategies, with breakdowns, volumes and memory.
struct SimulateDecodeCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Simulate one decode step: Tree vs Ring Attention and the alternatives.",
        discussion: """
            Strategies: \(DecodeStrategy.usage). tree:ALG picks the all-reduce algorithm (\(CollectiveAlgorithm.usage)).
            Overheads default to the cluster file's calibrated `overheads:` if it has them, else to zero (idealised);
            every one is an explicit option that overrides the file. --backward (or --step backward|training) \
            simulates the attention's backward (tree, ring, ring-sequential, single) and prints its volumes next to \
            the forward's. Output keys: docs/simulator.md.
            """)

    @OptionGroup var clusterOptions: SimulateClusterOptions

    @Option(name: .long, help: "Comma-separated strategies.")
    var strategy: String = "tree,ring"

    @Option(name: .long, help: "Sequence length N (tokens of K/V).")
    var seqLen: Int

    @OptionGroup var workloadOptions: DecodeWorkloadOptions<RequiredModelShape>

    @OptionGroup var overheads: DecodeOverheadOptions

    @Option(name: .long, help: "table, json or csv.")
    var format: SimulateFormat = .table

    @Flag(name: .long, help: "Do not run the ring baseline for 'vs ring' when ring is not among --strategy (its p^2 messages dominate at thousands of GPUs); 'vs ring' then shows -.")
    var noRingBaseline = false

    @Option(name: .long, help: "Write a Chrome/Perfetto trace JSON of every strategy here.")
    var trace: String?

    @Option(name: .long, help: "The step simulated: forward (one decode step; default), backward (its attention backward) or training (forward then backward).")
    var step: DecodeStep?

    @Flag(name: .long, help: "Simulate the attention backward of the decode step (--step backward): tree, ring, ring-sequential and single.")
    var backward = false

    @Flag(name: .long, help: "No progress lines on stderr for long simulations.")
    var quiet = false

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        if backward, let step, step != .backward {
            throw CLIError("--backward is --step backward; it cannot be combined with --step \(step.rawValue)")
        }
    }

    /// The step asked for (forward unless --backward or --step says otherwise).
    var resolvedStep: DecodeStep { backward ? .backward : step ?? .forward }

    func run() throws {
        // The trace's location is checked (and reserved) before the simulation runs.
        let traceFile = try trace.map { try AtomicOutputs([$0]) }
        defer { traceFile?.discard() }
        let cluster = try clusterOptions.load()
        let w = workloadOptions
        let workload = try DecodeWorkload(sequenceLength: seqLen, batch: w.batch, heads: w.resolvedHeads, kvHeads: w.kvHeads,
                                          headDim: w.resolvedHeadDim, dtype: w.dtype)
        let options = try overheads.decodeOptions(for: cluster)
        let strategies = try strategy.split(separator: ",").map { try DecodeStrategy.parse(String($0).trimmingCharacters(in: .whitespaces)) }
        guard !strategies.isEmpty else { throw SimulatorError.invalidArgument("--strategy is empty") }
        let model = try DecodeModel(cluster: cluster, workload: workload, options: options, step: resolvedStep)
        // Long simulations (thousands of GPUs, the ring baseline's p^2 messages) say how far they are, every 2 s.
        let start = Date()
        var lastReport = start
        let reports = try model.compare(strategies, recording: trace != nil, baseline: !noRingBaseline, progress: quiet ? nil : { strategy, events, now in
            guard Date().timeIntervalSince(lastReport) >= 2 else { return }
            lastReport = Date()
            FileHandle.standardError.write(Data(String(format: "simulate decode: %@: %.1fM events, simulated %@, %.0f s\n",
                "\(strategy)", Double(events) / 1e6, now.description, Date().timeIntervalSince(start)).utf8))
        })
        if let path = trace {
            var t = ChromeTrace()
            for r in reports {
                guard let e = r.execution else { continue }
                let names = (0..<r.gpus).map { model.cluster.network.nodes[model.cluster.gpus[$0]].name }
                t.add(e, section: r.step == .forward ? r.strategy : "\(r.strategy) (\(r.step.rawValue))", deviceNames: names)
            }
            try traceFile?.write([UInt8](try t.jsonData()), to: path)
            try traceFile?.commit()
        }
        print(render(reports, model: model))
    }

    func render(_ reports: [DecodeReport], model: DecodeModel) -> String {
        let w = model.workload
        // A step with a backward adds the backward's columns and keys; a forward step prints what it always has.
        let withBackward = model.step.includesBackward
        switch format {
        case .json:
            let rows: [[String: Any]] = reports.map { r in
                var linkBytes: [String: Any] = [:]
                for (name, b) in r.bytesPerLinkClass { linkBytes[name] = b }
                var row: [String: Any] = [
                    "strategy": r.strategy, "gpus": r.gpus, "latency_s": r.latency.seconds, "compute_s": r.compute.seconds,
                    "communication_s": r.communication.seconds, "overhead_s": r.overhead.seconds, "idle_s": r.idle.seconds,
                    "bytes_per_link_class": linkBytes, "elements_sent_per_device": r.elementsSentPerDevice,
                    "paper_volume_elements": jsonNumber(r.paperVolumeElements),
                    "peak_memory_elements": r.peakMemoryElements, "peak_memory_bytes": r.peakMemoryBytes,
                    "paper_peak_memory_elements": jsonNumber(r.paperPeakMemoryElements), "fits_in_memory": r.fitsInMemory,
                    "speedup_vs_ring": jsonNumber(r.speedupVsRing), "events": r.events, "messages": r.messages, "notes": r.notes,
                ]
                if withBackward {
                    row["step"] = r.step.rawValue
                    row["forward_latency_s"] = jsonNumber(r.forwardLatency?.seconds)
                    row["backward_latency_s"] = jsonNumber(r.backwardLatency?.seconds)
                    row["backward_elements_sent_per_device"] = jsonNumber(r.backwardElementsSentPerDevice)
                    row["paper_backward_volume_elements"] = jsonNumber(r.paperBackwardVolumeElements)
                }
                return row
            }
            let o = model.options
            var object: [String: Any] = [
                "schema_version": SimulatorModule.schemaVersion, "cluster": model.cluster.name, "gpus": model.gpus,
                "gpu": model.cluster.gpu.name,
                "workload": ["seq_len": w.sequenceLength, "batch": w.batch, "heads": w.heads, "kv_heads": w.kvHeads,
                             "head_dim": w.headDim, "dtype": w.dtype],
                "options": ["kernel_launch_s": o.kernelLaunch.seconds, "collective_call_s": o.collectiveCall.seconds,
                            "per_message_s": o.perMessage.seconds, "memory_efficiency": o.memoryEfficiency,
                            "compute_efficiency": o.computeEfficiency, "ring_sends_expanded_kv": o.ringSendsExpandedKV],
                "strategies": rows,
            ]
            // Only non-GPU devices say their kind, so GPU outputs stay as they were (absent means gpu).
            if model.cluster.gpu.kind != .gpu { object["device_kind"] = model.cluster.gpu.kind.rawValue }
            if withBackward { object["step"] = model.step.rawValue }
            return (try? jsonString(object)) ?? "{}"
        case .csv:
            var lines = ["strategy,gpus,latency_s,compute_s,communication_s,overhead_s,idle_s,elements_sent_per_device,paper_volume_elements,peak_memory_elements,peak_memory_bytes,paper_peak_memory_elements,fits_in_memory,speedup_vs_ring"
                + (withBackward ? ",step,forward_latency_s,backward_latency_s,backward_elements_sent_per_device,paper_backward_volume_elements" : "")]
            for r in reports {
                var cells: [String] = [r.strategy, "\(r.gpus)", "\(r.latency.seconds)", "\(r.compute.seconds)",
                                       "\(r.communication.seconds)", "\(r.overhead.seconds)", "\(r.idle.seconds)",
                                       "\(r.elementsSentPerDevice)", r.paperVolumeElements.map { "\($0)" } ?? "",
                                       "\(r.peakMemoryElements)", "\(r.peakMemoryBytes)",
                                       r.paperPeakMemoryElements.map { "\($0)" } ?? "", "\(r.fitsInMemory)",
                                       r.speedupVsRing.map { "\($0)" } ?? ""]
                if withBackward {
                    cells += [r.step.rawValue, r.forwardLatency.map { "\($0.seconds)" } ?? "", r.backwardLatency.map { "\($0.seconds)" } ?? "",
                              r.backwardElementsSentPerDevice.map { "\($0)" } ?? "", r.paperBackwardVolumeElements.map { "\($0)" } ?? ""]
                }
                lines.append(cells.joined(separator: ","))
            }
            return lines.joined(separator: "\n")
        case .table:
            func number(_ x: Double?) -> String { x.map { String(format: "%.4g", $0) } ?? "-" }
            let header: [String], rows: [[String]]
            if withBackward {
                // The step's latency and breakdown, then the forward and the backward each alone, side by side.
                header = ["strategy", "gpus", "latency", "compute", "comm", "overhead", "idle", "fwd alone", "bwd alone",
                          "fwd sent/dev", "bwd sent/dev", "paper V fwd", "paper V bwd", "peak mem/dev", "vs ring"]
                rows = reports.map { r -> [String] in
                    [r.strategy, "\(r.gpus)", r.latency.description, r.compute.description, r.communication.description,
                     r.overhead.description, r.idle.description, r.forwardLatency?.description ?? "-",
                     r.backwardLatency?.description ?? "-", number(r.elementsSentPerDevice), number(r.backwardElementsSentPerDevice),
                     number(r.paperVolumeElements), number(r.paperBackwardVolumeElements),
                     formatBytes(r.peakMemoryBytes) + (r.fitsInMemory ? "" : " (!)"),
                     r.speedupVsRing.map { String(format: "%.2fx", $0) } ?? "-"]
                }
            } else {
                header = ["strategy", "gpus", "latency", "compute", "comm", "overhead", "idle", "sent/dev (elem)",
                          "paper V", "peak mem/dev", "paper mem (elem)", "vs ring"]
                rows = reports.map { r -> [String] in
                    [r.strategy, "\(r.gpus)", r.latency.description, r.compute.description, r.communication.description,
                     r.overhead.description, r.idle.description, String(format: "%.4g", r.elementsSentPerDevice),
                     r.paperVolumeElements.map { String(format: "%.4g", $0) } ?? "-",
                     formatBytes(r.peakMemoryBytes) + (r.fitsInMemory ? "" : " (!)"),
                     r.paperPeakMemoryElements.map { String(format: "%.4g", $0) } ?? "-",
                     r.speedupVsRing.map { String(format: "%.2fx", $0) } ?? "-"]
                }
            }
            var text = "\(model.cluster.name): \(model.gpus) x \(model.cluster.gpu.label); N=\(w.sequenceLength) b=\(w.batch) n_h=\(w.heads) n_kv=\(w.kvHeads) d_h=\(w.headDim) \(w.dtype)"
            text += withBackward ? "; \(model.step.rawValue) step (sent/dev in elements)\n" : "\n"
            text += renderTable(header, rows)
            var linkRows: [[String]] = []
            for r in reports {
                let parts = r.bytesPerLinkClass.filter { $0.bytes > 0 }.map { "\($0.name) \(formatBytes($0.bytes))" }
                linkRows.append([r.strategy, parts.isEmpty ? "-" : parts.joined(separator: ", ")])
            }
            text += "\n\n" + renderTable(["strategy", "bytes carried per link class"], linkRows)
            let notes = reports.flatMap { r in r.notes.map { "\(r.strategy): \($0)" } }
            if !notes.isEmpty { text += "\n\nnotes:\n" + notes.map { "  " + $0 }.joined(separator: "\n") }
            return text
        }
    }
}
