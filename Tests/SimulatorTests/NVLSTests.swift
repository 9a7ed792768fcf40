import Foundation
import Testing

@testable import Simulator

/// The event-simulated NVLink SHARP collectives (`NVLSProgram`, `SwitchFlow`) against their closed forms, written out
/// here from the link loads: per chunk flow S = n/(pk) bytes, links of B each way, zero latency.
@Suite("NVLS in the switch vs closed forms")
struct NVLSTests {
    let bw = 100e9
    let n = 96e6

    func run(_ op: CollectiveOperation, p: Int, segments: Int, latency: SimTime = .zero) throws -> CollectiveReport {
        let cluster = try star(p, bandwidth: bw, latency: latency, reduces: true)
        return try Collective(op, algorithm: .nvls, bytes: n, options: CollectiveOptions(segments: segments)).run(
            on: cluster)
    }

    /// All-reduce: the first chunk's read alone (every uplink carries p reads: B/p each), k - 1 rounds in which every
    /// link carries p + 1 flows (p reads and one write up, one read and p writes down), the last chunk's write alone
    /// (every downlink carries p writes): (S/B)(p + (k - 1)(p + 1) + p).
    @Test(arguments: [(2, 1), (2, 4), (3, 3), (4, 1), (4, 5), (8, 2), (8, 16)])
    func allReduce(p: Int, k: Int) throws {
        let P = Double(p), K = Double(k), S = n / P / K
        let expected = S / bw * (P + (K - 1) * (P + 1) + P)
        let report = try run(.allreduce, p: p, segments: k)
        #expect(close(report.time.seconds, expected, tolerance: 1e-9), "p=\(p) k=\(k): \(report.time) vs \(expected)")
        // Each GPU's link carries n + n/p into the switch and n/p + n out: 2 p (n + n/p) in all, against a ring's
        // 2 (p - 1) n... across 2p links.
        let carried = report.bytesPerLinkClass.reduce(0) { $0 + $1.bytes }
        #expect(close(carried, 2 * P * (n + n / P), tolerance: 1e-12), "\(carried)")
    }

    /// Reduce-scatter (reads only: p on every uplink) and all-gather (writes only: p on every downlink) take n/B
    /// whatever the chunking.
    @Test(arguments: [
        (CollectiveOperation.reducescatter, 4, 1), (.reducescatter, 8, 3), (.allgather, 4, 2), (.allgather, 8, 1),
    ])
    func halves(op: CollectiveOperation, p: Int, k: Int) throws {
        let report = try run(op, p: p, segments: k)
        #expect(close(report.time.seconds, n / bw, tolerance: 1e-9), "\(op) p=\(p): \(report.time)")
    }

    /// With latency a per link, the barrier costs 2a and every chunk's write waits for its read to arrive (2a): one
    /// chunk per slice takes 2a + (pS/B + 2a) + (pS/B + 2a).
    @Test func latencyOfOneChunk() throws {
        let a = SimTime.microseconds(3), p = 4
        let S = n / Double(p)
        let expected = 6 * a.seconds + 2 * Double(p) * S / bw
        let t = try run(.allreduce, p: p, segments: 1, latency: a).time.seconds
        #expect(close(t, expected, tolerance: 1e-9), "\(t) vs \(expected)")
    }

    /// A rank that arrives late holds everyone up: the others' reads of its buffer wait for its announcement.
    @Test func lateRankHoldsTheBarrier() throws {
        let p = 4, delay = SimTime.microseconds(50)
        let cluster = try star(p, bandwidth: bw, latency: .zero, reduces: true)
        let late = ListProgram(singleLane: (0..<p).map { $0 == 2 ? [.compute(delay, label: "late")] : [] })
        let nvls = try NVLSProgram(.allReduce, ranks: p, bytes: n, segments: 2)
        let alone = try Execution().run([nvls], on: cluster).makespan
        let result = try Execution().run([late, nvls], on: cluster)
        #expect(result.makespan == alone + delay)
        #expect(result.rankFinish.allSatisfy { $0 == alone + delay })
    }

    /// On one DGX H100 (450 GB/s per GPU each way), a large all-reduce approaches the switch's bound 2(p-1)/(p+1) B
    /// = 700 GB/s bus bandwidth, far above the ring's B = 450.
    @Test func dgxH100ApproachesTheSwitchBound() throws {
        let cluster = try ClusterPreset.parse("dgx-h100").build()
        let bytes = 4e9
        let nvls = try Collective(.allreduce, algorithm: .nvls, bytes: bytes).run(on: cluster)
        let ring = try Collective(.allreduce, algorithm: .ring, bytes: bytes).run(on: cluster)
        let bound = 2 * 7.0 / 9.0 * 450e9
        #expect(nvls.busBandwidth <= bound && nvls.busBandwidth > 0.99 * bound, "\(nvls.busBandwidth)")
        #expect(ring.busBandwidth < 450e9 && nvls.busBandwidth > 1.5 * ring.busBandwidth)
    }

    /// Where no switch reduces (A100's NVSwitch, a PCIe host, two servers, a cluster file's plain switch) the run
    /// stops with one error line; broadcast has no NVLS form.
    @Test func refusals() throws {
        func message(_ cluster: Cluster, _ op: CollectiveOperation = .allreduce) -> String {
            do {
                _ = try Collective(op, algorithm: .nvls, bytes: 1e6).run(on: cluster)
                return ""
            } catch { return "\(error)" }
        }
        #expect(message(try ClusterPreset.parse("dgx-a100").build()).contains("one switch that reduces"))
        #expect(message(try ClusterPreset.parse("rtx4090-pcie").build()).contains("one switch that reduces"))
        #expect(message(try star(4, bandwidth: bw, latency: .zero)).contains("one switch that reduces"))
        #expect(message(try ClusterPreset.parse("dgx-h100:2").build()).contains("span 2 servers"))
        #expect(message(try star(4, bandwidth: bw, latency: .zero, reduces: true), .broadcast).contains("does not"))
        for m in [message(try ClusterPreset.parse("dgx-a100").build())] { #expect(!m.contains("\n")) }
    }

    /// A cluster file names its reducing switches; a name that is not a switch is an error.
    @Test func clusterFileReducingSwitches() throws {
        let base = """
            gpus: 2
            gpu: H100-SXM5
            link_classes: {nvlink: {forwarding: cut-through}}
            switches: [sw]
            links:
              - {from: gpu0, to: sw, class: nvlink, bandwidth_GBps: 100, latency_ns: 0, duplex: true}
              - {from: gpu1, to: sw, class: nvlink, bandwidth_GBps: 100, latency_ns: 0, duplex: true}
            """
        let cluster = try ClusterFile.parse(base + "\nreducing_switches: [sw]")
        let t = try Collective(.allreduce, algorithm: .nvls, bytes: n, options: CollectiveOptions(segments: 1)).run(
            on: cluster
        ).time.seconds
        #expect(close(t, 2 * n / bw, tolerance: 1e-9), "\(t)")
        #expect(throws: SimulatorError.self) { try ClusterFile.parse(base + "\nreducing_switches: [gpu0]") }
    }
}
