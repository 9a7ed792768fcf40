import Foundation
import Reference
import Simulator
import Studies

/// `treeattn demo` as a library: a short tour of everything the project does on embedded defaults, written line by
/// line to `say` as it goes (the sections take seconds each). Exact attention against every reduction on a decode
/// example, the energy-gradient identity, a bf16 golden case checked the way a GPU backend would be, Tree vs Ring
/// vs the reviewers' alternatives on 64 simulated H100s, and the paper's Fig. 3 setting idealised and calibrated.
public struct Tour: Sendable {
    /// The seed of the example's inputs.
    public var seed: UInt64 = 2024
    /// Keys in the decode example (1...2^20).
    public var keys = 4096
    /// The shards (devices) the keys are split over (1...64: the tree is printed).
    public var shards = 8

    /// The defaults.
    public init() {}

    /// Refuses sizes outside the tour's ranges.
    public func validate() throws {
        guard (1...1 << 20).contains(keys) else {
            throw ReferenceError.invalidOption("--keys must be in 1...\(1 << 20), got \(keys)")
        }
        guard (1...64).contains(shards) else {
            throw ReferenceError.invalidOption("--shards must be in 1...64 (the tree is printed), got \(shards)")
        }
    }

    /// Runs the tour, handing each line to `say`.
    public func run(_ say: (String) -> Void) throws {
        try validate()
        try reductions(say)
        try golden(say)
        try simulator(say)
        say(
            "\nNext: `treeattn explain` (a learner's walk-through; `--html DIR` writes it as an interactive page), `treeattn golden --help`, `treeattn simulate --help`, README.md."
        )
    }

    func format(_ x: Double) -> String { String(format: "%.6g", x) }

    /// Exact attention, every reduction, and the energy view on one decode query.
    func reductions(_ say: (String) -> Void) throws {
        say("== Tree Attention reference: one decode query over \(keys) keys split across \(shards) devices ==")
        var g = SeededGenerator(seed: seed)
        let (h, hkv, d) = (4, 2, 64)
        let x = try AttentionInputs(
            q: Tensor(shape: [1, h, 1, d], data: g.normals(h * d)),
            k: Tensor(shape: [1, hkv, keys, d], data: g.normals(hkv * keys * d)),
            v: Tensor(shape: [1, hkv, keys, d], data: g.normals(hkv * keys * d)))
        let exact = try ExactAttention.forward(x)
        let layout = try ShardLayout(keys: keys, shards: shards)
        say("exact attention (f64, BLAS): lse[head 0] = \(format(exact.lse.data[0]))")
        for reduction: Reduction in [.tree(.binary), .tree(.twoLevel(groupSize: 4)), .algorithm3, .ring] {
            let r = try ShardedAttention.forward(x, options: AttentionOptions(), layout: layout, reduction: reduction)
            let err = zip(r.result.output.data, exact.output.data).map { abs($0 - $1) }.max() ?? 0
            say(
                "  \(reduction.description.padding(toLength: 12, withPad: " ", startingAt: 0)) max |O - O_exact| = \(format(err))"
            )
        }
        say(try ReductionPlan(leaves: shards, shape: .binary).description)

        say("\n== The energy view: attention is the gradient of F(zeta) = log sum_a exp(s q.k_a + zeta.v_a) ==")
        let energy = try AttentionEnergy(inputs: x)
        let grad = try energy.gradient()
        let gradErr = zip(grad.data, exact.output.data).map { abs($0 - $1) }.max() ?? 0
        say("  max |dF/dzeta - O| = \(format(gradErr))")
        var zeta = Tensor<Double>(shape: [1, h, 1, d], repeating: 0)
        let step = 1e-5
        zeta.data[0] = step
        let fPlus = try energy.value(zeta: zeta).data[0]
        zeta.data[0] = -step
        let fMinus = try energy.value(zeta: zeta).data[0]
        say(
            "  central difference dF/dzeta_0 = \(format((fPlus - fMinus) / (2 * step))), analytic = \(format(grad.data[0]))"
        )
        let shardF = try layout.ranges.map { try energy.value(keys: $0).data[0] }
        say(
            "  F = \(format(try energy.value().data[0])), logsumexp of the \(shards) shard energies = \(format(AttentionEnergy.logSumExp(shardF)))"
        )
    }

    /// Golden vectors: one small tree case in bf16, then the reference's own f32 kernel checked against it like a GPU
    /// backend, in a temporary folder removed at the end.
    func golden(_ say: (String) -> Void) throws {
        say("\n== Golden vectors for kernel engineers ==")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("treeattn-demo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir + "/results", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = GoldenCaseSpec(
            name: "demo-decode", heads: 8, kvHeads: 2, seqQ: 1, seqK: 2000, headDim: 128,
            seed: seed, splits: [8])
        let golden = try GoldenCase(spec: spec, dtype: .bf16)
        try golden.file.write(to: dir + "/\(golden.name).safetensors")
        try AtomicFile.write(GoldenManifest(suite: "demo", cases: [golden]).json, to: dir + "/manifest.json")
        say(
            "  \(golden.name): bf16 inputs, f64 golden, 8 shard partials + 3 tree levels; derived tolerance "
                + String(
                    format: "%.3g (2 x naive bf16 error %.3g + floor %.3g)", golden.outputTolerance.atol,
                    golden.outputTolerance.naiveMaxAbsError, golden.outputTolerance.floor))
        let x = try AttentionInputs(
            q: golden.file["q"]!.tensor().map(Float.init), k: golden.file["k"]!.tensor().map(Float.init),
            v: golden.file["v"]!.tensor().map(Float.init))
        let backend = try ExactAttention.forward(x)
        try SafetensorsFile(tensors: [("out", TensorData(backend.output)), ("lse", TensorData(backend.lse))])
            .write(to: dir + "/results/\(golden.name).safetensors")
        for row in try GoldenChecker(goldenFolder: dir, results: dir + "/results").run() {
            say(
                String(
                    format: "  check %@ %@: max abs %.2e <= %.2e  %@", row.caseName, row.tensor, row.maxAbs, row.atol,
                    row.passed ? "PASS" : "FAIL"))
        }
    }

    /// The simulator: one decode step of the paper's Fig. 3 block on 64 H100s, idealised; then the Ring/Tree speedup
    /// at 8, 64 and 128 GPUs, idealised and calibrated.
    func simulator(_ say: (String) -> Void) throws {
        say(
            "\n== Cluster simulator: one decode step, 16 heads x 128, N = 1.28M tokens, 64 H100 (dgx-h100:8), idealised =="
        )
        let cluster = try Cluster.resolve("dgx-h100:8")
        let workload = try DecodeWorkload(sequenceLength: 1_280_000, heads: 16, headDim: 128)
        let reports = try DecodeModel(cluster: cluster, workload: workload)
            .compare([.tree(collective: .tree), .ring(overlap: true), .passPartials, .gatherToOne])
        for r in reports {
            say(
                "  \(r.strategy.padding(toLength: 14, withPad: " ", startingAt: 0)) latency \(r.latency.description.padding(toLength: 10, withPad: " ", startingAt: 0))"
                    + String(
                        format: " sent/device %-10.4g elements  speedup vs ring %.1fx", r.elementsSentPerDevice,
                        r.speedupVsRing ?? 1))
        }
        say("  (idealised: no launch or synchronisation overheads)")

        say("\n== Sweep: Ring/Tree speedup vs GPU count at N = 1.28M (Fig. 3 setting), idealised and calibrated ==")
        say("  GPUs   idealised   calibrated (launch, NCCL-call and sync overheads, 80% HBM and link efficiency)")
        for gpus in [8, 64, 128] {
            var speedups: [Double] = []
            for calibration in [Calibration.idealised, Calibration.paperCode] {
                let c = try calibration.apply(to: Cluster.resolve("dgx-h100:16"))
                let model = try DecodeModel(
                    cluster: c, workload: workload, options: calibration.decodeOptions, gpus: gpus)
                let r = try model.compare([.tree(collective: .tree), .ring(overlap: false)], recording: false)
                speedups.append(r[1].latency.seconds / r[0].latency.seconds)
            }
            say(String(format: "  %4d   %8.1fx   %8.1fx", gpus, speedups[0], speedups[1]))
        }
        say(
            "  The paper measured ~8x at 128 GPUs; docs/paper-reproduction.md explains the gap (`treeattn reproduce-paper`),"
        )
        say("  `treeattn sweep` writes the full CSV and SVG plots.")
    }
}
