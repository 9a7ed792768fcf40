import Foundation
import Simulator

/// The simulator's NCCL model against published measurements of real GPU systems: every number below is someone
/// else's measurement, cited, and predicted by `NCCLModel` on the matching preset. The rows are split before any
/// error is looked at: a calibration set that may set parameters, and a held-out set predicted without change. The
/// model's one parameter of ours, the pipeline fill D of each algorithm (`NCCLModel.calibratedPipelineFill`), is
/// fitted to the calibration curves (`fitPipelineFill`); every other constant is NCCL's own (src/graph/tuning.cc,
/// search.cc and topo.h). `treeattn validate-published` writes the document, its CSV and its plots
/// (docs/validation-published.md).
public enum PublishedValidation {
    /// Which side of the split a measurement is on.
    public enum Split: String, Sendable {
        /// May set a documented parameter of the model.
        case calibration
        /// Predicted without any change to the model.
        case heldOut = "held-out"
    }

    /// One published measurement: an nccl-tests all_reduce_perf bus bandwidth.
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

    /// The published curves (message size against bus bandwidth) from 1 MiB up: (preset, algorithm, split, source,
    /// setup, busbw GB/s at 2^20, 2^21, ... bytes), verbatim.
    static let curves: [(String, NCCLModel.Algorithm, Split, String, String, [Double])] = [
        (
            "dgx-h100", .nvls, .calibration,
            "github.com/Azure/AI-benchmarking-guide, Azure Results/ND_H100_v5_results.md (f350e7e)",
            "ND H100 v5 (8 H100 SXM), NCCL 2.18.5, NCCL_ALGO=NVLS all_reduce_perf -b 8 -e 8G -f 2 -g 8, in-place",
            [
                43.70, 81.93, 128.73, 172.13, 234.45, 295.53, 361.78, 400.61, 423.38, 438.46, 466.35, 472.36, 475.54,
                478.87,
            ]
        ),
        (
            "dgx-a100", .ring, .calibration,
            "github.com/oracle-japan/ocitutorials, tutorials/_intermediates/spinup-gpu-cluster.md (an earlier version)",
            "OCI BM.GPU4.8 (8 A100-SXM4-40GB, NVSwitch), all_reduce_perf -b 64 -e 10G -f 2 -g 8, NCCL's default, in-place",
            [
                23.61, 32.28, 54.48, 80.12, 121.65, 147.68, 199.81, 198.62, 222.55, 223.27, 230.13, 231.44, 234.16,
                235.21,
            ]
        ),
        (
            "dgx-h200", .nvls, .heldOut,
            "github.com/Azure/AI-benchmarking-guide, Azure_Results/ND_H200_v5_results.md (7f20e5f)",
            "ND H200 v5 (8 H200), NCCL 2.20.5, NCCL_ALGO=NVLS all_reduce_perf -b 8 -e 8G -f 2 -g 8, in-place",
            [
                52.96, 88.78, 138.44, 181.94, 240.41, 300.91, 368.11, 412.45, 432.24, 442.72, 467.58, 472.57, 477.41,
                479.98,
            ]
        ),
        (
            "dgx-a100", .ring, .heldOut,
            "github.com/Azure/AI-benchmarking-guide, Azure_Results/ND_A100_v4_results.md (3bb66ca)",
            "ND A100 v4 (8 A100-SXM4-80GB), NCCL 2.18.5, the harness's NCCL_ALGO=NVLS (A100 has none: NCCL's ring), in-place",
            [
                36.22, 53.54, 71.43, 89.99, 109.22, 132.77, 166.63, 174.18, 213.87, 221.58, 228.10, 230.22, 230.48,
                231.58,
            ]
        ),
    ]

    /// The measurements of the published curves, one per size.
    static var curveMeasurements: [Measurement] {
        curves.flatMap { preset, algorithm, split, source, setup, values in
            values.enumerated().map { i, busbw in
                Measurement(
                    preset: preset, gpus: 8, algorithm: algorithm, bytes: Double(1 << (20 + i)),
                    measuredBusBandwidth: busbw * 1e9, source: source, setup: setup, split: split)
            }
        }
    }

    /// Two servers: an OCI cluster's 2 x 8 H100 all-reduce from 1 to 16 GiB (in-place busbw, verbatim), held out.
    static var twoServerMeasurements: [Measurement] {
        [445.32, 456.12, 461.60, 463.89, 464.79].enumerated().map { i, busbw in
            Measurement(
                preset: "dgx-h100:2", gpus: 16, algorithm: .nvlsTree, bytes: Double(1 << (30 + i)),
                measuredBusBandwidth: busbw * 1e9,
                source:
                    "github.com/oracle-japan/ocitutorials, tutorials/_hpc/benchmark/run-nccltests-h100.md (bf795eb)",
                setup:
                    "2 x OCI BM.GPU.H100.8 (16 x 200 Gb/s RoCE per node), NCCL 2.21.5, all_reduce_perf -b 1G -e 16G -f 2, NCCL's default (the model's tuner picks NVLS_TREE here), in-place",
                split: .heldOut)
        }
    }

    /// Every measurement: the single points, the two-server points, then the curves.
    public static var all: [Measurement] { measurements + twoServerMeasurements + curveMeasurements }

    /// Predicts every measurement with `pipelineFill` (the model's calibrated one by default).
    public static func run(
        _ measurements: [Measurement] = all,
        pipelineFill: [NCCLModel.Algorithm: Double] = NCCLModel.calibratedPipelineFill
    ) throws -> [Row] {
        try predict(try measurements.map { ($0, try inputs($0)) }, pipelineFill: pipelineFill)
    }

    /// The NCCL model's inputs for a measurement: the first `gpus` GPUs of its preset.
    static func inputs(_ m: Measurement) throws -> NCCLModel.Inputs {
        try NCCLModel.Inputs(cluster: try ClusterPreset.parse(m.preset).build().prefix(m.gpus))
    }

    /// Predicts measurements whose model inputs are already built, with `pipelineFill`.
    static func predict(
        _ cases: [(Measurement, NCCLModel.Inputs)], pipelineFill: [NCCLModel.Algorithm: Double]
    ) throws -> [Row] {
        try cases.map { m, built in
            var inputs = built
            inputs.pipelineFill = pipelineFill
            let p = try NCCLModel.predict(
                .allreduce, bytes: m.bytes, inputs: inputs, algorithm: m.algorithm, proto: .simple)
            let n = Double(m.gpus)
            return Row(measurement: m, predictedBusBandwidth: m.bytes / p.time.seconds * 2 * (n - 1) / n)
        }
    }

    /// The pipeline fill D (seconds) of `algorithm` that best fits the calibration rows of that algorithm: the least
    /// squares of log(predicted / measured) bus bandwidth, by golden-section search over D in [0, 1 ms] (the error is
    /// unimodal in D: more fill only slows every size). Nil without calibration rows.
    public static func fitPipelineFill(_ algorithm: NCCLModel.Algorithm, _ measurements: [Measurement] = all) throws
        -> Double?
    {
        let rows = measurements.filter { $0.split == .calibration && $0.algorithm == algorithm }
        guard !rows.isEmpty else { return nil }
        let cases = try rows.map { ($0, try inputs($0)) }  // the clusters built once, only D varies
        func cost(_ d: Double) throws -> Double {
            try predict(cases, pipelineFill: [algorithm: d]).reduce(0) { $0 + pow(log1p($1.error), 2) }
        }
        var (lo, hi) = (0.0, 1e-3)
        let g = (5.0.squareRoot() - 1) / 2
        for _ in 0..<80 {
            let a = hi - g * (hi - lo), b = lo + g * (hi - lo)
            if try cost(a) < cost(b) { hi = b } else { lo = a }
        }
        return (lo + hi) / 2
    }

    /// The median and largest |error| of the rows of one split (nil without rows).
    public static func summary(_ rows: [Row], _ split: Split) -> (median: Double, max: Double)? {
        let errors = rows.filter { $0.measurement.split == split }.map { abs($0.error) }.sorted()
        guard let largest = errors.last else { return nil }
        let mid = errors.count / 2
        return (errors.count % 2 == 1 ? errors[mid] : (errors[mid - 1] + errors[mid]) / 2, largest)
    }

    /// The files the command writes: the document, its CSV and its two plots.
    public static let fileNames = [
        "validation-published.md", "validation-published/validation-published.csv",
        "validation-published/validation-published.svg", "validation-published/curves.svg",
    ]

    /// The document, the CSV and the plots of `rows`, with the context-parallel attention section of `attention`
    /// (its CSV and plot: `PublishedAttentionValidation.fileNames`).
    public static func files(_ rows: [Row], attention: PublishedAttentionValidation.Result) throws -> [(
        name: String, contents: String
    )] {
        let a = PublishedAttentionValidation.self
        return [
            (fileNames[0], try markdown(rows) + a.markdown(attention)), (fileNames[1], csv(rows).render()),
            (fileNames[2], try plot(rows).render()), (fileNames[3], try curvePlot(rows).render()),
            (a.fileNames[0], a.csv(attention).render()), (a.fileNames[1], try a.plot(attention).render()),
        ]
    }

    static func gbps(_ x: Double) -> String { String(format: "%.1f", x / 1e9) }

    /// One row per measurement: every field, the prediction and the error (bandwidths in GB/s to 3 decimals, so that
    /// the error can be recomputed from them to 1e-4 even at 20 GB/s).
    public static func csv(_ rows: [Row]) -> CSVTable {
        var t = CSVTable(header: [
            "split", "preset", "gpus", "algorithm", "bytes", "measured_busbw_GBps", "predicted_busbw_GBps", "error",
            "source", "setup",
        ])
        for r in rows {
            let m = r.measurement
            t.rows.append([
                m.split.rawValue, m.preset, "\(m.gpus)", m.algorithm.rawValue, String(format: "%.0f", m.bytes),
                String(format: "%.3f", m.measuredBusBandwidth / 1e9),
                String(format: "%.3f", r.predictedBusBandwidth / 1e9),
                String(format: "%+.4f", r.error),
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
            title: "NCCL model vs published nccl-tests all-reduce bus bandwidth (1 MiB to 16 GiB)",
            xLabel: "measured bus bandwidth (GB/s)", xScale: .linear, yLabel: "predicted bus bandwidth (GB/s)",
            yScale: .linear,
            series: [
                PlotSeries(
                    name: "held out",
                    points: sorted.filter { $0.measurement.split == .heldOut }.map {
                        ($0.measurement.measuredBusBandwidth / 1e9, $0.predictedBusBandwidth / 1e9)
                    }, colour: 0),
                PlotSeries(
                    name: "calibration",
                    points: sorted.filter { $0.measurement.split == .calibration }.map {
                        ($0.measurement.measuredBusBandwidth / 1e9, $0.predictedBusBandwidth / 1e9)
                    }, colour: 3),
                PlotSeries(name: "predicted = measured", points: [(lo, lo), (hi, hi)], colour: 1, dash: 1),
                PlotSeries(name: "+15%", points: [(lo, lo * 1.15), (hi, hi * 1.15)], colour: 2, dash: 2),
                PlotSeries(name: "-15%", points: [(lo, lo * 0.85), (hi, hi * 0.85)], colour: 2, dash: 2),
            ],
            caption: "Each measurement predicted on its preset; sources in validation-published.md.")
    }

    /// Bus bandwidth against message size for each published curve: measured (solid) and predicted (dashed).
    static func curvePlot(_ rows: [Row]) throws -> LinePlot {
        var series: [PlotSeries] = []
        for (i, curve) in curves.enumerated() {
            let mine = rows.filter { $0.measurement.source == curve.3 && $0.measurement.setup == curve.4 }
            let name = "\(curve.0) \(curve.1.rawValue) (\(curve.2.rawValue))"
            series.append(
                PlotSeries(
                    name: name + " measured",
                    points: mine.map { ($0.measurement.bytes, $0.measurement.measuredBusBandwidth / 1e9) },
                    colour: i))
            series.append(
                PlotSeries(
                    name: name + " predicted",
                    points: mine.map { ($0.measurement.bytes, $0.predictedBusBandwidth / 1e9) },
                    colour: i, dash: 1))
        }
        return try LinePlot(
            title: "All-reduce bus bandwidth on one 8-GPU node: published curves and the NCCL model",
            xLabel: "message size (bytes)", xScale: .log, yLabel: "bus bandwidth (GB/s)", yScale: .linear,
            series: series,
            caption: "Solid: measured (nccl-tests, in-place); dashed: NCCLModel with the calibrated pipeline fill.")
    }

    /// The document: the split and the calibration, the table with sources, the summary per split and per system,
    /// what is not compared yet.
    static func markdown(_ rows: [Row]) throws -> String {
        func us(_ x: Double?) -> String { x.map { String(format: "%.2f us", $0 * 1e6) } ?? "-" }
        let fitted = try [NCCLModel.Algorithm.nvls, .ring].map { ($0, try fitPipelineFill($0)) }
        var md = """
            # The simulator against published measurements

            Generated by `treeattn validate-published --out docs` (Studies' `PublishedValidation`); do not edit by hand.
            Every measured number is someone else's, cited; every prediction comes from `NCCLModel` (`--algorithm
            nccl-ring` / `nccl-nvls`) on the matching preset ([simulator.md](simulator.md#collectives)), the first
            `gpus` GPUs of the preset, all-reduce with the Simple protocol. nccl-tests' bus bandwidth is algBw x
            2(n-1)/n with algBw = bytes / time (the predicted latency included).

            **The split, made before any error was looked at.** The model's latencies, NVLink speeds (20.0, 20.6,
            40.1 GB/s per link), NVLS efficiencies (0.85 Hopper, 0.74 Blackwell) and channel speeds are NCCL's own
            (NCCL's developers set the NVLS efficiencies from 4 GB runs, so the 4 GB rows test the transcription of
            NCCL's model and our presets). Ours is one parameter per algorithm, the pipeline fill D: a collective
            pipelined in chunks takes latency + (sqrt(bytes / algBw) + sqrt(D))^2, the optimum of a segmented
            pipeline (D = its depth times the per-chunk cost); NCCL's tuner has D = 0, which puts it 35-50% above
            the measured curves from 1 to 64 MB. **Calibration** rows set D, by least squares of the log error:
            the NVLS curve of an Azure ND H100 v5 node (D = \(us(fitted[0].1)); the model uses
            \(us(NCCLModel.calibratedPipelineFill[.nvls])), `NCCLModel.calibratedPipelineFill`) and an A100-40GB
            curve run with NCCL's default (ring, D = \(us(fitted[1].1)); the model uses
            \(us(NCCLModel.calibratedPipelineFill[.ring]))). **Held out**, predicted without refitting: the H200 NVLS
            curve, the A100-80GB curve, the 4 GB points, and a 2 x 8 H100 cluster from 1 to 16 GiB (NVLS_TREE across the
            servers, NCCL's model as it is: no fill is calibrated for it; its per-channel cap, 57.7 GB/s for two Hopper
            servers, binds there and is NCCL's, tuned by its developers on runs like this one). The 8-GPU 4 GB points
            were known while the NVLS model was
            written (no constant was changed after); the 5-7 GPU points and the curves were added afterwards.

            """
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
        md +=
            "\nHeld out, by system and algorithm:\n\n| system | algorithm | rows | median abs error | largest | within 25% |\n|---|---|---|---|---|---|\n"
        var groups: [(String, NCCLModel.Algorithm)] = []
        for r in rows where r.measurement.split == .heldOut {
            let key = (r.measurement.preset, r.measurement.algorithm)
            if !groups.contains(where: { $0 == key }) { groups.append(key) }
        }
        for (preset, algorithm) in groups {
            let mine = rows.filter {
                $0.measurement.split == .heldOut && $0.measurement.preset == preset
                    && $0.measurement.algorithm == algorithm
            }
            let s = summary(mine, .heldOut)!
            md += String(
                format: "| %@ | %@ | %d | %.1f%% | %.1f%% | %d/%d |\n", preset, algorithm.rawValue, mine.count,
                s.median * 100, s.max * 100, mine.filter { abs($0.error) <= 0.25 }.count, mine.count)
        }
        let misses =
            rows.filter { $0.measurement.split == .heldOut && abs($0.error) > 0.25 }.map {
                "\($0.measurement.preset) at \(String(format: "%.0f", $0.measurement.bytes)) bytes "
                    + "(\(String(format: "%+.1f%%", $0.error * 100)))"
            }.joined(separator: ", ")
        md += """

            The goal (issue 26): collective bus bandwidth within 15% median and 25% at every held-out point from 1 MB
            up. It holds on the H100 and H200 systems (the H200 curve's largest miss is at 1 MiB, where its bus
            bandwidth is 21% above H100's on the same NVLink). Held-out rows beyond 25%: \(misses). The two A100
            curves, the same hardware, differ by themselves by 53% at 1 MiB (36.2 vs 23.6 GB/s) and 66% at 2 MiB
            (53.5 vs 32.3 GB/s). They ran different NCCL releases (2.18.5 against a CUDA 11.3-era one), whose tuners
            pick other protocols (LL128) and channel counts for small messages; the model predicts NCCL's Simple
            protocol and cannot be within 25% of both. The 7-GPU NVLS point is the largest 4 GB miss: with 7 heads NCCL's graph
            search settles on 40 GB/s per channel (8 x 40 <= 370.8), where the measurement suggests a faster graph;
            NCCL's search has more freedom (per-head channel counts) than the closed form takes.

            ![published curves and the model](validation-published/curves.svg)

            ![predicted vs measured](validation-published/validation-published.svg)

            | split | system | GPUs | algorithm | bytes | measured | predicted | error | source | setup |
            |---|---|---|---|---|---|---|---|---|---|

            """
        for r in rows {
            let m = r.measurement
            md +=
                "| \(m.split.rawValue) | \(m.preset) | \(m.gpus) | \(m.algorithm.rawValue) | \(String(format: "%.0f", m.bytes)) | \(gbps(m.measuredBusBandwidth)) GB/s | \(gbps(r.predictedBusBandwidth)) GB/s | \(String(format: "%+.1f%%", r.error * 100)) | \(m.source) | \(m.setup) |\n"
        }
        md += """

            Not compared yet: more multi-node runs (further published 2 x 8 H100 and H200 tables could not be traced to
            a citable file; GCP's A3 Mega runs over its own TCP transport, which no preset models), GB200 NVL72 and B200 curves (no complete measurement found published),
            and ASTRA-sim's HGX-H100 measurements (published as plots only: its 9.7-20.6% geometric-mean errors are the
            figure to compare with). Attention-level numbers: context-parallel attention below; the Tree Attention
            paper's tables are compared in [paper-reproduction.md](paper-reproduction.md).

            """
        return md
    }
}
