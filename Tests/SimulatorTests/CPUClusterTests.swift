import Foundation
import Testing

@testable import Simulator

/// Cluster files that describe CPU ranks (`gpu: {kind: cpu, ...}`) and carry calibrated overheads (`overheads:`),
/// as `treeattn-mpi calibrate` writes them.
@Suite("CPU ranks and calibrated overheads in cluster files")
struct CPUClusterTests {
    static let starFile = ClusterTests.fixtures + "/cpu-star-4.yaml"

    /// A one-switch cluster of two ranks with the given `gpu:` value and extra top-level text.
    static func file(gpu: String, ranks: String = "gpu", extra: String = "") -> String {
        """
        gpus: 2
        gpu: \(gpu)
        link_classes: {wire: {forwarding: cut-through}}
        switches: [sw]
        links:
          - {from: \(ranks)0, to: sw, class: wire, bandwidth_GBps: 1, latency_ns: 1}
          - {from: \(ranks)1, to: sw, class: wire, bandwidth_GBps: 1, latency_ns: 1}
        \(extra)
        """
    }

    static let cpu = "{kind: cpu, name: box, memory_bandwidth_GBps: 12.5, gemm_GFLOPS: 40, memory_GB: 8}"

    @Test func cpuKindIsParsedWithItsOwnKeys() throws {
        let c = try ClusterFile.parse(Self.file(gpu: Self.cpu, ranks: "cpu"))
        #expect(c.gpu.kind == .cpu && c.gpu.name == "box" && c.gpu.label == "box (cpu)")
        #expect(c.gpu.memoryBandwidth == 12.5e9 && c.gpu.peakFlopsPerSecond == 40e9 && c.gpu.memoryBytes == 8e9)
        #expect(
            c.gpu == (try GPUSpec.cpu(name: "box", memoryBandwidth: 12.5e9, gemmFlopsPerSecond: 40e9, memoryBytes: 8e9))
        )
        // Ranks are named after the device kind.
        #expect(c.gpus.map { c.network.nodes[$0].name } == ["cpu0", "cpu1"])
        #expect(c.overheads == nil)
        #expect(DecodeOptions(cluster: c) == DecodeOptions())
    }

    @Test func gpuKindStaysTheDefault() throws {
        let named = try ClusterFile.parse(Self.file(gpu: "H100-SXM5"))
        let explicit = try ClusterFile.parse(Self.file(gpu: "{kind: gpu, model: H100-SXM5}"))
        let mapping = try ClusterFile.parse(
            Self.file(gpu: "{name: X, hbm_bandwidth_GBps: 100, bf16_TFLOPS: 2, memory_GB: 4}"))
        #expect(named.gpu == .h100SXM5 && explicit.gpu == .h100SXM5 && named.gpu.kind == .gpu)
        #expect(named.gpu.label == "H100-SXM5")
        #expect(
            mapping.gpu.kind == .gpu && mapping.gpu.peakFlopsPerSecond == 2e12 && mapping.gpu.memoryBandwidth == 100e9)
        #expect(named.gpus.map { named.network.nodes[$0].name } == ["gpu0", "gpu1"])
        #expect(try Cluster.resolve("dgx-h100").gpu.kind == .gpu)
    }

    /// The roofline of a CPU rank uses its streaming bandwidth and its GEMM rate.
    @Test func cpuRooflineUsesTheMeasuredRates() throws {
        let spec = try GPUSpec.cpu(name: "box", memoryBandwidth: 20e9, gemmFlopsPerSecond: 50e9, memoryBytes: 16e9)
        let roof = try Roofline(
            gpu: spec, memoryEfficiency: 0.8, computeEfficiency: 0.5, kernelLaunch: .microseconds(5))
        #expect(close(roof.time(bytes: 1.6e6, flops: 0).seconds, 5e-6 + 1.6e6 / 16e9, tolerance: 1e-9))  // memory-bound
        // Compute-bound.
        #expect(close(roof.time(bytes: 0, flops: 2.5e6).seconds, 5e-6 + 2.5e6 / 25e9, tolerance: 1e-9))
    }

    func expectError(_ yaml: String, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ClusterFile.parse(yaml)
            Issue.record("expected an error containing '\(text)'", sourceLocation: sourceLocation)
        } catch let error as SimulatorError {
            #expect(error.description.contains(text), "\(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func mixingTheKindsKeysIsAOneLineErrorNamingTheKey() {
        expectError(
            Self.file(
                gpu:
                    "{kind: cpu, name: b, memory_bandwidth_GBps: 1, gemm_GFLOPS: 1, memory_GB: 1, hbm_bandwidth_GBps: 1}",
                ranks: "cpu"),
            containing: "gpu: 'hbm_bandwidth_GBps' is a key of kind gpu, not of kind cpu")
        expectError(
            Self.file(gpu: "{kind: cpu, model: H100-SXM5}", ranks: "cpu"), containing: "'model' is a key of kind gpu")
        expectError(
            Self.file(gpu: "{kind: cpu, name: b, bf16_TFLOPS: 1}", ranks: "cpu"),
            containing: "'bf16_TFLOPS' is a key of kind gpu")
        expectError(
            Self.file(gpu: "{model: H100-SXM5, gemm_GFLOPS: 3}"),
            containing: "gpu: 'gemm_GFLOPS' is a key of kind cpu, not of kind gpu")
        expectError(
            Self.file(gpu: "{kind: gpu, name: x, memory_bandwidth_GBps: 3, bf16_TFLOPS: 1, memory_GB: 1}"),
            containing: "'memory_bandwidth_GBps' is a key of kind cpu")
        expectError(Self.file(gpu: "{kind: tpu, name: x}"), containing: "gpu: unknown kind 'tpu' (gpu, cpu)")
        expectError(
            Self.file(gpu: "{kind: cpu, name: b, memory_bandwidth_GBps: 1, gemm_GFLOPS: 1}", ranks: "cpu"),
            containing: "gpu: kind cpu needs 'memory_GB'")
        expectError(
            Self.file(
                gpu: "{kind: cpu, name: b, memory_bandwidth_GBps: 1, gemm_GFLOPS: 1, memory_GB: 1, cores: 4}",
                ranks: "cpu"),
            containing: "gpu: unknown key 'cores'")
        expectError(
            Self.file(
                gpu: "{kind: cpu, name: b, memory_bandwidth_GBps: 0, gemm_GFLOPS: 1, memory_GB: 1}", ranks: "cpu"),
            containing: "'memory_bandwidth_GBps' must be > 0")
        // The ranks of a CPU cluster are cpu0, cpu1, ...; the error says so.
        expectError(
            Self.file(gpu: Self.cpu, ranks: "gpu"),
            containing: "unknown node 'gpu0' in 'from' (the ranks of a cpu cluster are cpu0..cpu1)")
        expectError(
            "preset: mi300x\ngpus: 2\ngpu: \(Self.cpu)", containing: "gpu: kind 'cpu' does not apply to preset 'mi300x'"
        )
    }

    @Test func overheadsAreParsedAndBecomeDecodeOptions() throws {
        let c = try ClusterFile.load(path: Self.starFile)
        let o = try #require(c.overheads)
        #expect(
            o
                == (try ClusterOverheads(
                    kernelLaunch: .microseconds(5), collectiveCall: .microseconds(30),
                    perMessage: .microseconds(2), memoryEfficiency: 0.8, computeEfficiency: 0.5)))
        let options = DecodeOptions(cluster: c)
        #expect(options.kernelLaunch == .microseconds(5) && options.collectiveCall == .microseconds(30))
        #expect(
            options.perMessage == .microseconds(2) && options.memoryEfficiency == 0.8
                && options.computeEfficiency == 0.5)
        #expect(options.ringSendsExpandedKV && options.collective == CollectiveOptions())
        // The first ranks of the cluster keep its overheads.
        #expect(try c.prefix(2).overheads == o)

        // Values that are absent leave the options as they are.
        let partial = try ClusterFile.parse(Self.file(gpu: "H100-SXM5", extra: "overheads: {per_message_us: 1.5}"))
        var mine = DecodeOptions()
        mine.kernelLaunch = .microseconds(7)
        partial.overheads?.apply(to: &mine)
        #expect(
            mine.kernelLaunch == .microseconds(7) && mine.perMessage == .microseconds(1.5) && mine.memoryEfficiency == 1
        )
        #expect(DecodeOptions(cluster: partial).kernelLaunch == .zero)
        // Presets files take them too; an empty mapping gives no values.
        let preset = try ClusterFile.parse(
            "preset: mi300x\ngpus: 2\noverheads: {kernel_launch_us: 4, compute_efficiency: 1}")
        #expect(preset.overheads == (try ClusterOverheads(kernelLaunch: .microseconds(4), computeEfficiency: 1)))
        #expect(
            try ClusterFile.parse(Self.file(gpu: "H100-SXM5", extra: "overheads: {}")).overheads
                == (try ClusterOverheads()))
    }

    @Test func badOverheadsAreOneLineErrors() {
        func bad(_ mapping: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(
                Self.file(gpu: "H100-SXM5", extra: "overheads: \(mapping)"), containing: text,
                sourceLocation: sourceLocation)
        }
        bad("{kernel_launch_us: -1}", "overheads: 'kernel_launch_us' must be >= 0, got -1")
        bad("{collective_call_us: .inf}", "overheads: 'collective_call_us' must be >= 0")
        bad("{per_message_us: -0.5}", "overheads: 'per_message_us' must be >= 0")
        bad("{memory_efficiency: 0}", "overheads: 'memory_efficiency' must be in (0, 1], got 0")
        bad("{compute_efficiency: 1.5}", "overheads: 'compute_efficiency' must be in (0, 1], got 1.5")
        bad("{compute_efficiency: fast}", "overheads: 'compute_efficiency' must be a number")
        bad("{launch_us: 3}", "overheads: unknown key 'launch_us'")
        bad("[1, 2]", "overheads: expected a mapping")
        #expect(throws: SimulatorError.self) { try ClusterOverheads(memoryEfficiency: .nan) }
    }
}
