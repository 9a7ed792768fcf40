import Foundation
import Simulator

/// The simulator's NCCL model against published measurements of real GPU systems: every number below is someone
/// else's measurement, cited, and predicted by `NCCLModel` on the matching preset without refitting. The rows are
/// split before any error is looked at: a calibration set that may set parameters, and a held-out set predicted
/// without change. Today the calibration set is empty: the model has no parameter of ours (every constant is NCCL's
/// own, src/graph/tuning.cc, search.cc and topo.h). `treeattn validate-published` writes the document, its CSV and
/// its plot (docs/validation-published.md).
public enum PublishedValidation {
    /// Which side of the split a measurement is on.
    public enum Split: String, Sendable {
        /// May set a documented parameter of the model.
        case calibration
        /// Predicted without any change to the model.
        case heldOut = "held-out"
    }

    /// One published measurement: an nccl-tests all_reduce_perf bus bandwidth on one node.
    public struct Measurement: Sendable, Equatable {
        /// The preset of the system measured (`ClusterPreset.parse`).
        public var preset: String
        /// GPUs taking part (the preset's first ones).
        public var gpus: Int
        /// The NCCL algorithm the run used (forced with NCCL_ALGO, or NCCL's default as reported).
        public var algorithm: NCCLModel.Algorithm
        /// Message size, bytes (nccl-tests' per-rank buffer).
        public var bytes: Double
        /// Measured bus bandwidth, bytes/s (nccl-tests: algBw x 2(n-1)/n).
        public var measuredBusBandwidth: Double
        /// Where it was published.
        public var source: String
        /// The setup as the source gives it.
        public var setup: String
        /// Calibration or held out.
        public var split: Split
    }

    /// One measurement with its prediction.
    public struct Row: Sendable {
        /// The measurement.
        public var measurement: Measurement
        /// The model's bus bandwidth for it, bytes/s (bytes over the predicted time, times 2(n-1)/n).
        public var predictedBusBandwidth: Double
        /// (predicted - measured) / measured.
        public var error: Double { predictedBusBandwidth / measurement.measuredBusBandwidth - 1 }
    }

    /// The measurements, in the order the document lists them. The 8-GPU rows were known while the NVLS model was
    /// written (from NCCL's code, no parameter changed after); the 5-7 GPU rows were added afterwards.
    public static let measurements: [Measurement] = [
        Measurement(
            preset: "dgx-h100", gpus: 8, algorithm: .ring, bytes: 4e9, measuredBusBandwidth: 367.5e9,
            source: "github.com/NVIDIA/nccl/issues/1455", setup: "H100 SXM, NCCL_ALGO=RING, -b 2G -e 4G: 365-370 GB/s",
            split: .heldOut),
        Measurement(
            preset: "dgx-h100", gpus: 8, algorithm: .nvls, bytes: 4e9, measuredBusBandwidth: 480e9,
            source: "github.com/NVIDIA/nccl/issues/1455; github.com/NVIDIA/nccl-tests/issues/212",
            setup: "H100 SXM, NCCL_ALGO=NVLS (NCCL's default at this size), -b 2G -e 4G", split: .heldOut),
        Measurement(
            preset: "dgx-h100", gpus: 7, algorithm: .nvls, bytes: 4e9, measuredBusBandwidth: 460e9,
            source: "github.com/NVIDIA/nccl/issues/1455", setup: "7 of 8 H100 SXM, NVLS, -b 2G -e 4G",
            split: .heldOut),
        Measurement(
            preset: "dgx-h100", gpus: 6, algorithm: .nvls, bytes: 4e9, measuredBusBandwidth: 440e9,
            source: "github.com/NVIDIA/nccl/issues/1455", setup: "6 of 8 H100 SXM, NVLS, -b 2G -e 4G",
            split: .heldOut),
        Measurement(
            preset: "dgx-h100", gpus: 5, algorithm: .nvls, bytes: 4e9, measuredBusBandwidth: 420e9,
            source: "github.com/NVIDIA/nccl/issues/1455", setup: "5 of 8 H100 SXM, NVLS, -b 2G -e 4G",
            split: .heldOut),
        Measurement(
            preset: "dgx-h200", gpus: 8, algorithm: .nvls, bytes: 4e9, measuredBusBandwidth: 475e9,
            source: "github.com/NVIDIA/nccl-tests/issues/272", setup: "H200, NCCL 2.20.3, -b 64k -e 4G, peak",
            split: .heldOut),
        Measurement(
            preset: "dgx-a100", gpus: 8, algorithm: .ring, bytes: 4e9, measuredBusBandwidth: 232.54e9,
            source: "github.com/NVIDIA/nccl-tests/issues/175 (~230 expected: nccl-tests/issues/149)",
            setup: "A100 SXM4 80 GB, -b 8 -e 4G -g 8", split: .heldOut),
        Measurement(
            preset: "dgx-b200", gpus: 8, algorithm: .nvls, bytes: 4e9, measuredBusBandwidth: 830e9,
            source: "github.com/NVIDIA/nccl/issues/1807",
            setup: "B200, NCCL 2.27.1, \"830+\" GB/s (size not stated; taken at 4 GB)", split: .heldOut),
    ]

    /// Predicts every measurement.
    public static func run(_ measurements: [Measurement] = measurements) throws -> [Row] {
        try measurements.map { m in
            let cluster = try ClusterPreset.parse(m.preset).build().prefix(m.gpus)
            let inputs = try NCCLModel.Inputs(cluster: cluster)
            let p = try NCCLModel.predict(
                .allreduce, bytes: m.bytes, inputs: inputs, algorithm: m.algorithm, proto: .simple)
            let n = Double(m.gpus)
            return Row(measurement: m, predictedBusBandwidth: m.bytes / p.time.seconds * 2 * (n - 1) / n)
        }
    }

    /// The median and largest |error| of the rows of one split (nil without rows).
    public static func summary(_ rows: [Row], _ split: Split) -> (median: Double, max: Double)? {
        let errors = rows.filter { $0.measurement.split == split }.map { abs($0.error) }.sorted()
        guard let largest = errors.last else { return nil }
        let mid = errors.count / 2
        return (errors.count % 2 == 1 ? errors[mid] : (errors[mid - 1] + errors[mid]) / 2, largest)
    }

    /// The files the command writes: the document, its CSV and its plot.
    public static let fileNames = [
        "validation-published.md", "validation-published/validation-published.csv",
        "validation-published/validation-published.svg",
    ]

    /// The document, the CSV and the plot of `rows`.
    public static func files(_ rows: [Row]) throws -> [(name: String, contents: String)] {
        [
            (fileNames[0], markdown(rows)), (fileNames[1], csv(rows).render()),
            (fileNames[2], try plot(rows).render()),
        ]
    }

    static func gbps(_ x: Double) -> String { String(format: "%.1f", x / 1e9) }

    /// One row per measurement: every field, the prediction and the error.
    public static func csv(_ rows: [Row]) -> CSVTable {
        var t = CSVTable(header: [
            "split", "preset", "gpus", "algorithm", "bytes", "measured_busbw_GBps", "predicted_busbw_GBps", "error",
            "source", "setup",
        ])
        for r in rows {
            let m = r.measurement
            t.rows.append([
                m.split.rawValue, m.preset, "\(m.gpus)", m.algorithm.rawValue, String(format: "%.0f", m.bytes),
                gbps(m.measuredBusBandwidth), gbps(r.predictedBusBandwidth), String(format: "%+.4f", r.error),
                m.source, m.setup,
            ])
        }
        return t
    }

    /// Predicted against measured bus bandwidth, with the y = x line and the goal's +-15% band.
    static func plot(_ rows: [Row]) throws -> LinePlot {
        let sorted = rows.sorted { $0.measurement.measuredBusBandwidth < $1.measurement.measuredBusBandwidth }
        let xs = sorted.map { $0.measurement.measuredBusBandwidth / 1e9 }
        let (lo, hi) = ((xs.first ?? 1) * 0.9, (xs.last ?? 1) * 1.1)
        return try LinePlot(
            title: "NCCL model vs published nccl-tests all-reduce bus bandwidth (one node, 4 GB)",
            xLabel: "measured bus bandwidth (GB/s)", xScale: .linear, yLabel: "predicted bus bandwidth (GB/s)",
            yScale: .linear,
            series: [
                PlotSeries(
                    name: "predicted (held out)",
                    points: sorted.map { ($0.measurement.measuredBusBandwidth / 1e9, $0.predictedBusBandwidth / 1e9) },
                    colour: 0),
                PlotSeries(name: "predicted = measured", points: [(lo, lo), (hi, hi)], colour: 1, dash: 1),
                PlotSeries(name: "+15%", points: [(lo, lo * 1.15), (hi, hi * 1.15)], colour: 2, dash: 2),
                PlotSeries(name: "-15%", points: [(lo, lo * 0.85), (hi, hi * 0.85)], colour: 2, dash: 2),
            ],
            caption: "Each measurement predicted on its preset without refitting; sources in validation-published.md.")
    }

    /// The document: the split, the table with sources, the summary per split, what is not compared yet.
    static func markdown(_ rows: [Row]) -> String {
        var md = """
            # The simulator against published measurements

            Generated by `treeattn validate-published --out docs` (Studies' `PublishedValidation`); do not edit by hand.
            Every measured number is someone else's, cited; every prediction comes from `NCCLModel` (`--algorithm
            nccl-ring` / `nccl-nvls`) on the matching preset ([simulator.md](simulator.md#collectives)), the first
            `gpus` GPUs of one node, all-reduce with the Simple protocol, without refitting. nccl-tests' bus
            bandwidth is algBw x 2(n-1)/n with algBw = bytes / time (the predicted latency included).

            **The split, made before any error was looked at.** Calibration: none. The model has no parameter of
            ours: NCCL's per-link NVLink speeds (20.0, 20.6, 40.1 GB/s), NVLS efficiencies (0.85 Hopper, 0.74
            Blackwell), channel speeds and latencies are NCCL's own. NCCL's developers set their NVLS efficiencies from
            runs like these, so the held-out rows test the transcription of NCCL's model and our presets, not an
            independent physical model. The 8-GPU rows were known while the model was written (no constant was
            changed after); the 5-7 GPU rows were added afterwards.

            | split | system | GPUs | algorithm | measured | predicted | error | source | setup |
            |---|---|---|---|---|---|---|---|---|

            """
        for r in rows {
            let m = r.measurement
            md +=
                "| \(m.split.rawValue) | \(m.preset) | \(m.gpus) | \(m.algorithm.rawValue) | \(gbps(m.measuredBusBandwidth)) GB/s | \(gbps(r.predictedBusBandwidth)) GB/s | \(String(format: "%+.1f%%", r.error * 100)) | \(m.source) | \(m.setup) |\n"
        }
        md += "\n"
        for split in [Split.calibration, .heldOut] {
            let count = rows.filter { $0.measurement.split == split }.count
            if let s = summary(rows, split) {
                md += String(
                    format: "- **%@** (%d rows): median |error| %.1f%%, largest %.1f%%.\n", split.rawValue, count,
                    s.median * 100, s.max * 100)
            } else {
                md += "- **\(split.rawValue)**: no rows.\n"
            }
        }
        md += """

            The goal (issue 26): collective bus bandwidth within 15% median and 25% at every held-out point from 1 MB
            up. The 7-GPU NVLS row is the largest miss: with 7 heads NCCL's graph search settles on 40 GB/s per channel
            (8 x 40 <= 370.8), where the measurement suggests a faster graph; NCCL's search has more freedom
            (per-head channel counts) than the closed form takes.

            ![predicted vs measured](validation-published/validation-published.svg)

            Not compared yet: bus bandwidth curves below 1 GB (latency-bound sizes), multi-node runs (NVLS_TREE, rings
            over InfiniBand), GB200 NVL72 (no measurement found published), ASTRA-sim's HGX-H100 measurements, and
            attention-level numbers (ring and context-parallel attention throughputs, the Tree Attention paper's
            tables are compared in [paper-reproduction.md](paper-reproduction.md)).

            """
        return md
    }
}
