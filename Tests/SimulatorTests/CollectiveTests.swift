import Foundation
import Testing

@testable import Simulator

/// Each all-reduce / all-gather / broadcast algorithm against its alpha-beta-gamma closed form (written out
/// independently here), on a contention-free mesh.
@Suite("Collectives vs closed forms")
struct CollectiveTests {
    let a = 2e-6  // seconds per message
    let bw = 20e9  // bytes/s
    var b: Double { 1 / bw }  // seconds per byte
    let g = 5e-12  // reduction seconds per byte
    let n = 64e6  // bytes

    func time(
        _ op: CollectiveOperation, _ alg: CollectiveAlgorithm, p: Int, bytes: Double? = nil,
        options: CollectiveOptions = CollectiveOptions(), perServer: Int? = nil
    ) throws -> Double {
        let cluster = try fullyConnected(p, bandwidth: bw, latency: .seconds(a), gpusPerServer: perServer)
        return try Collective(op, algorithm: alg, bytes: bytes ?? n, options: options).run(on: cluster).time.seconds
    }

    @Test(arguments: [2, 5, 8, 16])
    func ringAllReduce(p: Int) throws {
        let P = Double(p)
        let expected = 2 * (P - 1) * a + 2 * (P - 1) / P * n * b + (P - 1) / P * n * g
        let t = try time(.allreduce, .ring, p: p, options: CollectiveOptions(reductionSecondsPerByte: g))
        #expect(close(t, expected), "p=\(p): \(t) vs \(expected)")
    }

    @Test func ringReduceScatterAndAllGather() throws {
        let p = 8.0
        let expected = (p - 1) * (a + n * b / p)
        #expect(close(try time(.allgather, .ring, p: 8), expected))
        #expect(close(try time(.reducescatter, .ring, p: 8), expected))
    }

    @Test(arguments: [2, 4, 8, 32])
    func recursiveDoublingAllReduce(p: Int) throws {
        let expected = log2(Double(p)) * (a + n * b + n * g)
        let t = try time(.allreduce, .recursiveDoubling, p: p, options: CollectiveOptions(reductionSecondsPerByte: g))
        #expect(close(t, expected), "p=\(p): \(t) vs \(expected)")
    }

    @Test(arguments: [2, 4, 8, 32])
    func rabenseifnerAllReduce(p: Int) throws {
        let P = Double(p)
        let expected = 2 * log2(P) * a + 2 * (P - 1) / P * n * b + (P - 1) / P * n * g
        let t = try time(.allreduce, .rabenseifner, p: p, options: CollectiveOptions(reductionSecondsPerByte: g))
        #expect(close(t, expected), "p=\(p): \(t) vs \(expected)")
    }

    @Test func recursiveDoublingAllGather() throws {
        let expected = 3 * a + 7.0 / 8 * n * b
        #expect(close(try time(.allgather, .recursiveDoubling, p: 8), expected))
    }

    @Test(arguments: [(8, 1), (8, 4), (16, 8), (4, 16)])
    func pipelinedTreeAllReduceTextbookPacing(p: Int, k: Int) throws {
        let d = log2(Double(p))  // NCCL's binary tree on a power of two has depth log2 p
        let expected = (2 * d + Double(k) - 1) * (a + n * b / Double(k))
        let t = try time(.allreduce, .tree, p: p, options: CollectiveOptions(segments: k, pacing: .afterDelivery))
        #expect(close(t, expected), "p=\(p) k=\(k): \(t) vs \(expected)")
    }

    @Test(arguments: [(8, 4), (16, 8)])
    func pipelinedTreeAllReduceStreaming(p: Int, k: Int) throws {
        let d = log2(Double(p)), K = Double(k)
        let expected = 2 * d * (a + n * b / K) + (K - 1) * n * b / K
        let t = try time(.allreduce, .tree, p: p, options: CollectiveOptions(segments: k, pacing: .backToBack))
        #expect(close(t, expected), "p=\(p) k=\(k): \(t) vs \(expected)")
    }

    @Test(arguments: [2, 6, 8, 13])
    func binomialBroadcast(p: Int) throws {
        let expected = (log2(Double(p))).rounded(.up) * (a + n * b)
        #expect(close(try time(.broadcast, .binomial, p: p), expected))
    }

    @Test func pipelinedChainBroadcast() throws {
        let p = 6, k = 10
        let expected = Double(p - 1 + k - 1) * (a + n * b / Double(k))
        #expect(
            close(
                try time(.broadcast, .chain, p: p, options: CollectiveOptions(segments: k, pacing: .afterDelivery)),
                expected))
    }

    @Test func hierarchicalIsTheSumOfItsPhases() throws {
        let servers = 2.0, gpus = 4.0, k = 2.0
        let intra = (gpus - 1) * (a + n * b / gpus)
        let shard = n / gpus
        let inter = (2 * log2(servers) + k - 1) * (a + shard * b / k)
        let t = try time(
            .allreduce, .hierarchical(inter: .tree), p: 8,
            options: CollectiveOptions(segments: 2, pacing: .afterDelivery), perServer: 4)
        #expect(close(t, 2 * intra + inter), "\(t) vs \(2 * intra + inter)")
    }

    @Test func doubleBinaryTreeSendsHalfPerTree() throws {
        let p = 8, k = 4
        let opts = CollectiveOptions(segments: k, pacing: .afterDelivery)
        let cluster = try fullyConnected(p, bandwidth: bw, latency: .seconds(a))
        let dbt = try Collective(.allreduce, algorithm: .doubleBinaryTree, bytes: n, options: opts).run(on: cluster)
        let single = try Collective(.allreduce, algorithm: .tree, bytes: n, options: opts).run(on: cluster)
        // Each tree moves n/2: total bytes sent equal a single tree's, and no rank is a sender in both trees'
        // up-pass more than a single tree would make it.
        let sentDBT = dbt.execution!.bytesSent.reduce(0, +), sentTree = single.execution!.bytesSent.reduce(0, +)
        #expect(close(sentDBT, sentTree))
        // Lower bound: one tree on n/2; upper bound: one tree on n.
        let halfTree = (2 * 3 + Double(k) - 1) * (a + n / 2 * b / Double(k))
        #expect(dbt.time.seconds >= halfTree * (1 - 1e-3))
        #expect(dbt.time.seconds < single.time.seconds)
    }

    @Test func planAllReduceMatchesBinomialTreeShape() throws {
        // plan:binary over 8 leaves is a binomial tree of depth 3: unpipelined, 3 (a + n b + n g) up and 3 (a + n b)
        // down, except that a rank with several children merges them one after another.
        let t = try time(.allreduce, .plan(.binary), p: 8, options: CollectiveOptions(segments: 1))
        #expect(close(t, 6 * (a + n * b)))
    }

    @Test func unsupportedCombinationsFailLoudly() throws {
        #expect(throws: SimulatorError.self) { try time(.allreduce, .recursiveDoubling, p: 6) }
        #expect(throws: SimulatorError.self) { try time(.allgather, .tree, p: 8) }
        #expect(throws: SimulatorError.self) { try time(.broadcast, .rabenseifner, p: 8) }
        #expect(throws: SimulatorError.self) { try time(.allgather, .nccl(algorithm: .tree), p: 8) }
        #expect(throws: SimulatorError.self) { try CollectiveAlgorithm.parse("bogus") }
        // Empty inner algorithms (an index out of range before): one-line errors.
        for text in ["hierarchical:", "two-level:", "plan:", "hierarchical::"] {
            #expect(throws: (any Error).self) { try CollectiveAlgorithm.parse(text) }
        }
        #expect(throws: SimulatorError.self) { try CollectiveOperation.parse("alltoall") }
    }

    @Test func busBandwidthConventions() throws {
        let cluster = try fullyConnected(8, bandwidth: bw, latency: .zero)
        let r = try Collective(.allreduce, algorithm: .ring, bytes: n).run(on: cluster)
        #expect(close(r.algorithmBandwidth, n / r.time.seconds))
        #expect(close(r.busBandwidth, r.algorithmBandwidth * 2 * 7 / 8))
        // Zero latency ring: busBw equals the link bandwidth.
        #expect(close(r.busBandwidth, bw))
    }

    @Test func ncclModelWorkedExamples() throws {
        // One server of 8 GPUs, Ring LL all-reduce of a tiny message: 6.6 + 14 * 0.6 = 15.0 us.
        let one = NCCLModel.Inputs(
            ranks: 8, servers: 1, intraHardware: .nvlink, intraBandwidth: 450e9, interBandwidth: 50e9)
        let ring = try NCCLModel.predict(.allreduce, bytes: 8, inputs: one, algorithm: .ring, proto: .ll)
        #expect(close(ring.latency.microseconds, 15.0))
        // 16 servers x 8, Tree LL (tuning.cc scales the intra latency by 1.8 for LL across servers):
        // 6.8 + 2 (7 * 0.6 * 1.8 + 4 * 5.0) = 61.92 us.
        let many = NCCLModel.Inputs(
            ranks: 128, servers: 16, intraHardware: .nvlink, intraBandwidth: 450e9, interBandwidth: 50e9)
        let tree = try NCCLModel.predict(.allreduce, bytes: 8, inputs: many, algorithm: .tree, proto: .ll)
        #expect(close(tree.latency.microseconds, 61.92))
        // Ring LL there: 6.6 + (254 - 30) * 0.6 * 1.8 + 30 * 2.7 = 329.52 us.
        let ringMany = try NCCLModel.predict(.allreduce, bytes: 8, inputs: many, algorithm: .ring, proto: .ll)
        #expect(close(ringMany.latency.microseconds, 329.52))
        // The tuner picks tree for tiny messages across servers.
        #expect(try NCCLModel.predict(.allreduce, bytes: 8, inputs: many).algorithm == .tree)
    }

    @Test func determinism() throws {
        let cluster = try ClusterPreset.dgxH100(servers: 2).build()
        let c = try Collective(
            .allreduce, algorithm: .doubleBinaryTree, bytes: 3e7, options: CollectiveOptions(segments: 7))
        let r1 = try c.run(on: cluster, recording: true), r2 = try c.run(on: cluster, recording: true)
        #expect(r1.time == r2.time)
        #expect(r1.events == r2.events)
        #expect(r1.execution!.transfers == r2.execution!.transfers)
    }
}
