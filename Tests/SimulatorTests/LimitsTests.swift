import Testing
@testable import Simulator

/// Absurd sizes are clear errors, never overflow traps, hangs or silently clamped results.
@Suite struct LimitsTests {
    @Test func simTimeSumsSaturateInsteadOfTrapping() {
        let big = SimTime(picoseconds: Int64.max - 5)
        #expect((big + SimTime(picoseconds: 10)).picoseconds == Int64.max)
        #expect((big + SimTime(picoseconds: 10)).exceedsRange)
        #expect(!(SimTime.range - SimTime(picoseconds: 1)).exceedsRange)
        #expect(SimTime(picoseconds: 3) + SimTime(picoseconds: 4) == SimTime(picoseconds: 7))
    }

    @Test func runsBeyondTheClockRangeAreErrors() throws {
        let cluster = try Cluster.resolve("dgx-h100:2")
        // 1e20 bytes over 50 GB/s links: ~2e9 s, beyond the 2^62 ps (~53 days) range.
        #expect(throws: SimulatorError.self) { _ = try Collective(.allreduce, algorithm: .ring, bytes: 1e20).run(on: cluster) }
        #expect(throws: SimulatorError.self) { _ = try Collective(.allreduce, algorithm: .nccl(algorithm: nil), bytes: 1e30).run(on: cluster) }
        var options = DecodeOptions()
        options.kernelLaunch = .seconds(1e300)
        let workload = try DecodeWorkload(sequenceLength: 1000, heads: 16, headDim: 128)
        #expect(throws: SimulatorError.self) { _ = try DecodeModel(cluster: cluster, workload: workload, options: options).run(.tree(collective: .tree)) }
        // A long but representable run still works.
        #expect(try Collective(.allreduce, algorithm: .ring, bytes: 1e12).run(on: cluster).time.seconds > 1)
    }

    @Test func segmentAndClusterSizesAreBounded() throws {
        let cluster = try Cluster.resolve("mi300x")
        #expect(throws: SimulatorError.self) { _ = try Collective(.allreduce, algorithm: .tree, bytes: 1e18).run(on: cluster) }
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.broadcast, algorithm: .tree, bytes: 1e6, options: CollectiveOptions(segments: Int.max)).run(on: cluster)
        }
        for bad in ["dgx-h100:", "dgx-h100:100000000", "rtx4090-pcie:9223372036854775807", "mi300x:9"] {
            #expect(throws: SimulatorError.self, "\(bad)") { _ = try Cluster.resolve(bad) }
        }
        #expect(throws: SimulatorError.self) { _ = try ClusterFile.parse("gpus: 100000000000\ngpu: {model: H100-SXM5}\n") }
        #expect(throws: SimulatorError.self) { _ = try DecodeWorkload(sequenceLength: 1 << 50, heads: 16, headDim: 128) }
        #expect(throws: SimulatorError.cluster("cluster: give 'nodes' or 'gpus' with a preset, not both")) {
            _ = try ClusterFile.parse("preset: dgx-h100\nnodes: 2\ngpus: 16\n")
        }
    }

    /// Nothing is silently ignored: segments on a non-pipelined algorithm, pacing on the NCCL model, parallel links.
    @Test func unsupportedKnobsAreRefusedOrNoted() throws {
        let cluster = try Cluster.resolve("mi300x")
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.allreduce, algorithm: .ring, bytes: 1e6, options: CollectiveOptions(segments: 4)).run(on: cluster)
        }
        #expect(try Collective(.allreduce, algorithm: .tree, bytes: 1e6, options: CollectiveOptions(segments: 4)).run(on: cluster).time.seconds > 0)
        #expect(throws: SimulatorError.self) {
            _ = try Collective(.allreduce, algorithm: .nccl(algorithm: nil), bytes: 1e6, options: CollectiveOptions(segments: 4)).run(on: cluster)
        }
        var options = DecodeOptions()
        options.collective.segments = 2
        let workload = try DecodeWorkload(sequenceLength: 10_000, heads: 16, headDim: 128)
        let report = try DecodeModel(cluster: cluster, workload: workload, options: options).run(.tree(collective: .ring))
        #expect(report.notes.contains { $0.contains("segments do not apply") })
        let twice = """
            gpus: 2
            gpu: {model: H100-SXM5}
            switches: [sw]
            link_classes: {nvlink: {forwarding: cut-through}}
            links:
              - {from: gpu0, to: sw, class: nvlink, bandwidth_GBps: 450, latency_ns: 25}
              - {from: gpu1, to: sw, class: nvlink, bandwidth_GBps: 450, latency_ns: 25}
              - {from: gpu0, to: sw, class: nvlink, bandwidth_GBps: 450, latency_ns: 25}
            """
        do {
            _ = try ClusterFile.parse(twice)
            Issue.record("a parallel link was accepted")
        } catch let error as SimulatorError {
            #expect(error.description.contains("links[2]: gpu0 -> sw is defined twice"), "\(error)")
        }
        // The same file without the duplicate is fine.
        _ = try ClusterFile.parse(twice.components(separatedBy: "\n").dropLast().joined(separator: "\n"))
    }
}
