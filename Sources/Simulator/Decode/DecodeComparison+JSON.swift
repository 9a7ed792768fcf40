import Foundation

extension DecodeComparison {
    /// The JSON document of `simulate decode --format json` (keys in docs/simulator.md, "JSON output"): sorted keys,
    /// pretty-printed; absent or non-finite numbers are `null`.
    public func json() throws -> String { try JSONText.pretty(Document(self)) }

    /// The document: `schema_version` (`SimulatorModule.schemaVersion`), the cluster, the workload, the options and
    /// one entry per strategy; `device_kind` only for non-GPU devices, `step` only for steps with a backward.
    struct Document: Encodable {
        var schemaVersion = SimulatorModule.schemaVersion
        var cluster: String, gpus: Int, gpu: String
        var workload: Workload, options: Options, strategies: [Strategy]
        var deviceKind: String?, step: String?

        enum CodingKeys: String, CodingKey {
            case cluster, gpus, gpu, workload, options, strategies, step
            case schemaVersion = "schema_version", deviceKind = "device_kind"
        }

        init(_ c: DecodeComparison) {
            let model = c.model
            (cluster, gpus, gpu) = (model.cluster.name, model.gpus, model.cluster.gpu.name)
            workload = Workload(model.workload)
            options = Options(model.options)
            strategies = c.reports.map { Strategy($0, withBackward: c.withBackward) }
            deviceKind = model.cluster.gpu.kind == .gpu ? nil : model.cluster.gpu.kind.rawValue
            step = c.withBackward ? model.step.rawValue : nil
        }
    }

    /// The workload's shape.
    struct Workload: Encodable {
        var seqLen: Int, batch: Int, heads: Int, kvHeads: Int, headDim: Int, dtype: String
        /// Present only when they differ from plain attention (d_v = d_h, separate K and V).
        var valueDim: Int?, latentKV: Bool?

        enum CodingKeys: String, CodingKey {
            case batch, heads, dtype
            case seqLen = "seq_len", kvHeads = "kv_heads", headDim = "head_dim", valueDim = "value_dim"
            case latentKV = "latent_kv"
        }

        init(_ w: DecodeWorkload) {
            (seqLen, batch, heads, kvHeads, headDim, dtype) = (
                w.sequenceLength, w.batch, w.heads, w.kvHeads, w.headDim, w.dtype
            )
            (valueDim, latentKV) = (w.valueDim == w.headDim ? nil : w.valueDim, w.latentKV ? true : nil)
        }
    }

    /// The overheads and efficiencies the model used.
    struct Options: Encodable {
        var kernelLaunchS: Double, collectiveCallS: Double, perMessageS: Double
        var memoryEfficiency: Double, computeEfficiency: Double, ringSendsExpandedKV: Bool

        enum CodingKeys: String, CodingKey {
            case kernelLaunchS = "kernel_launch_s", collectiveCallS = "collective_call_s", perMessageS = "per_message_s"
            case memoryEfficiency = "memory_efficiency", computeEfficiency = "compute_efficiency"
            case ringSendsExpandedKV = "ring_sends_expanded_kv"
        }

        init(_ o: DecodeOptions) {
            (kernelLaunchS, collectiveCallS, perMessageS) = (
                o.kernelLaunch.seconds, o.collectiveCall.seconds, o.perMessage.seconds
            )
            (memoryEfficiency, computeEfficiency, ringSendsExpandedKV) = (
                o.memoryEfficiency, o.computeEfficiency, o.ringSendsExpandedKV
            )
        }
    }

    /// One strategy's entry; the backward keys only for steps with a backward.
    struct Strategy: Encodable {
        var strategy: String, gpus: Int
        var latencyS: Double, computeS: Double, communicationS: Double, overheadS: Double, idleS: Double
        var bytesPerLinkClass: [String: Double]
        var elementsSentPerDevice: Double, paperVolumeElements: JSONNumber
        var peakMemoryElements: Double, peakMemoryBytes: Double, paperPeakMemoryElements: JSONNumber, fitsInMemory: Bool
        var speedupVsRing: JSONNumber, events: Int, messages: Int, notes: [String]
        var step: String?, forwardLatencyS: JSONNumber?, backwardLatencyS: JSONNumber?
        var backwardElementsSentPerDevice: JSONNumber?, paperBackwardVolumeElements: JSONNumber?

        enum CodingKeys: String, CodingKey {
            case strategy, gpus, events, messages, notes, step
            case latencyS = "latency_s", computeS = "compute_s", communicationS = "communication_s"
            case overheadS = "overhead_s", idleS = "idle_s", bytesPerLinkClass = "bytes_per_link_class"
            case elementsSentPerDevice = "elements_sent_per_device", paperVolumeElements = "paper_volume_elements"
            case peakMemoryElements = "peak_memory_elements", peakMemoryBytes = "peak_memory_bytes"
            case paperPeakMemoryElements = "paper_peak_memory_elements", fitsInMemory = "fits_in_memory"
            case speedupVsRing = "speedup_vs_ring", forwardLatencyS = "forward_latency_s"
            case backwardLatencyS = "backward_latency_s", backwardElementsSentPerDevice =
                "backward_elements_sent_per_device"
            case paperBackwardVolumeElements = "paper_backward_volume_elements"
        }

        init(_ r: DecodeReport, withBackward: Bool) {
            (strategy, gpus) = (r.strategy, r.gpus)
            (latencyS, computeS, communicationS) = (r.latency.seconds, r.compute.seconds, r.communication.seconds)
            (overheadS, idleS) = (r.overhead.seconds, r.idle.seconds)
            bytesPerLinkClass = Dictionary(
                r.bytesPerLinkClass.map { ($0.name, $0.bytes) }, uniquingKeysWith: { _, last in last })
            (elementsSentPerDevice, paperVolumeElements) = (r.elementsSentPerDevice, JSONNumber(r.paperVolumeElements))
            (peakMemoryElements, peakMemoryBytes) = (r.peakMemoryElements, r.peakMemoryBytes)
            (paperPeakMemoryElements, fitsInMemory) = (JSONNumber(r.paperPeakMemoryElements), r.fitsInMemory)
            (speedupVsRing, events, messages, notes) = (JSONNumber(r.speedupVsRing), r.events, r.messages, r.notes)
            if withBackward {
                step = r.step.rawValue
                forwardLatencyS = JSONNumber(r.forwardLatency?.seconds)
                backwardLatencyS = JSONNumber(r.backwardLatency?.seconds)
                backwardElementsSentPerDevice = JSONNumber(r.backwardElementsSentPerDevice)
                paperBackwardVolumeElements = JSONNumber(r.paperBackwardVolumeElements)
            }
        }
    }
}
