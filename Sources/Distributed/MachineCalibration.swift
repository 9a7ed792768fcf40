import Foundation
import Reference

/// What the simulator needs to know about the ranks a job runs on, measured under MPI with every rank active at once
/// (so shared cores, memory and network are shared as they will be in a real run). Times are medians.
public struct MachineCalibration: Sendable {
    /// One ping-pong point between ranks 0 and 1: message bytes and the one-way time (half the round trip).
    public struct PingPong: Sendable {
        /// Message size in bytes.
        public let bytes: Int
        /// Median one-way time of the message, in seconds.
        public let seconds: Double
    }
    /// Number of ranks measured (`comm.size`).
    public var ranks = 1
    /// The host of every rank (`Communicator.hosts`). With more than one host the calibration has two tiers: the
    /// ping-pong, latency, bandwidth and aggregate fields describe the network inside a host, the `inter` fields and
    /// `uplinkBandwidth` the network between hosts.
    public var hosts = [0]
    /// Ping-pong points between rank 0 and the next rank on its host, from 8 bytes up to the largest message, by
    /// factors of 4; empty with a single rank (or one rank per host).
    public var pingPong: [PingPong] = []
    /// alpha (s) of t = alpha + bytes / beta, least squares over the ping-pong points.
    public var latency = 0.0
    /// beta (bytes/s) of t = alpha + bytes / beta, fitted with `latency`; infinity with a single rank.
    public var bandwidth = Double.infinity
    /// Bytes per second all ranks move together while each exchanges `exchangeBytes` with its ring neighbours at once
    /// (with two tiers: its neighbours on its own host, every host at once).
    public var aggregateBandwidth = Double.infinity
    /// Two tiers: ping-pong points between rank 0 and the lowest rank of the next host; empty with one host.
    public var interPingPong: [PingPong] = []
    /// Two tiers: alpha (s) of the ping-pong between hosts.
    public var interLatency = 0.0
    /// Two tiers: beta (bytes/s) of the ping-pong between hosts; infinity with one host.
    public var interBandwidth = Double.infinity
    /// Two tiers: bytes per second through one host's link each way while every rank sends `exchangeBytes` to a rank on
    /// another host and receives as much from a third (from the same rank with two ranks), all at once; infinity with
    /// one host.
    public var uplinkBandwidth = Double.infinity
    /// Bytes each rank sends to its ring neighbour in the exchange measurement (0 with a single rank).
    public var exchangeBytes = 0
    /// Streaming-read bytes/s of one rank (BLAS asum over 64 MiB, far larger than the caches), all ranks reading at once.
    public var memoryBandwidth = 0.0
    /// f64 GEMM FLOP/s of one rank (dgemm 256 x 256 x 256), all ranks computing.
    public var gemmFlops = 0.0
    /// The decode kernel with all ranks running it at once: seconds for a tiny problem (its fixed cost).
    public var decodeFixed = 0.0
    /// K/V bytes per second the decode kernel reaches on a large problem, its fixed cost subtracted, all ranks running.
    public var decodeBandwidth = 0.0
    /// With `kernelCurve`: the decode kernel's time at shard sizes from 2^11 keys up by factors of 4 (`curveKeys`), all
    /// ranks running: its K/V bytes and median seconds, kept only where the time grows (the simulator's
    /// `KernelCurve`); empty otherwise.
    public var decodeCurve: [(bytes: Double, seconds: Double)] = []
    /// Median time of an 8-byte MPI_Allreduce.
    public var smallAllreduce = 0.0
    /// Physical memory of the machine, bytes.
    public var memoryBytes = 0.0

    /// An empty calibration (one rank, nothing measured); `measure` fills one in.
    public init() {}

    /// Runs every measurement on all ranks of `comm`; every rank must call it. `decode` is the decode problem whose
    /// kernel rate is measured (heads, head dim; keys per rank), `maxMessage` the largest ping-pong message;
    /// `kernelCurve` also measures the decode kernel at every size of `curveKeys` (`decodeCurve`).
    public static func measure(
        _ comm: Communicator, heads: Int, headDim: Int, decodeKeys: Int,
        maxMessage: Int = 16 << 20, kernelCurve: Bool = false, progress: (String) -> Void = { _ in }
    ) throws -> MachineCalibration {
        var c = MachineCalibration()
        c.ranks = comm.size
        c.memoryBytes = Double(ProcessInfo.processInfo.physicalMemory)
        c.hosts = try comm.hosts()
        let hostCount = (c.hosts.last ?? 0) + 1
        // With two tiers every host holds g consecutive ranks (the exchanges pair ranks by their place on the host).
        let g = hostCount > 1 ? try comm.hostGroupSize() : comm.size
        let (place, base) = (comm.rank % g, comm.rank - comm.rank % g)
        if g >= 2 {
            progress(hostCount > 1 ? "ping-pong between ranks 0 and 1 (one host)" : "ping-pong between ranks 0 and 1")
            c.pingPong = try pingPongs(comm, peer: 1, maxMessage: maxMessage)
            (c.latency, c.bandwidth) = fitAlphaBeta(c.pingPong)
            progress("all ranks exchanging with their ring neighbours" + (hostCount > 1 ? " on their host" : ""))
            c.exchangeBytes = maxMessage
            let t = try exchange(
                comm, bytes: c.exchangeBytes, right: base + (place + 1) % g, left: base + (place + g - 1) % g)
            c.aggregateBandwidth = Double(comm.size * c.exchangeBytes) / t
        }
        if hostCount > 1 {
            progress("ping-pong between ranks 0 and \(g) (two hosts)")
            c.interPingPong = try pingPongs(comm, peer: g, maxMessage: maxMessage)
            (c.interLatency, c.interBandwidth) = fitAlphaBeta(c.interPingPong)
            progress("every rank sending to the next host while receiving from another")
            c.exchangeBytes = maxMessage
            // A cycle through the ranks that changes host at every step, (host 0, place 0), (host 1, place 0), ...,
            // (last host, place 0), (host 0, place 1), ...: each rank sends across to its successor and receives from
            // its predecessor, a different rank when there are more than two ranks (as the ring's hops are), so the
            // measurement is the hosts' links both ways and not one TCP connection carrying both directions.
            let cycle = (0..<comm.size).map { i in (i % hostCount) * g + i / hostCount }
            let at = cycle.firstIndex(of: comm.rank)!
            let t = try exchange(
                comm, bytes: c.exchangeBytes, right: cycle[(at + 1) % comm.size],
                left: cycle[(at + comm.size - 1) % comm.size])
            c.uplinkBandwidth = Double(g * c.exchangeBytes) / t
        }
        progress("memory bandwidth, GEMM rate and the decode kernel on every rank")
        // Rates with every rank working at once, from the slowest rank's total time: with more ranks than cores
        // they share the cores, and the slowest rank's time is what a step waits for.
        let stream = StreamBuffer(64 << 20), gemm = GemmBuffers(256)
        c.memoryBandwidth = Double(stream.values.count * 8) / (try concurrently(comm, repeats: 5) { try stream.read() })
        c.gemmFlops = 2 * Double(256 * 256 * 256) / (try concurrently(comm, repeats: 5) { gemm.run() })
        let small = try DecodeProblem(heads: heads, headDim: headDim, keys: 16)
        let large = try DecodeProblem(heads: heads, headDim: headDim, keys: decodeKeys)
        c.decodeFixed = try concurrently(comm, repeats: 50) { try small.run() }
        let largeSeconds = try concurrently(comm, repeats: 7) { try large.run() }
        c.decodeBandwidth = Double(decodeKeys * heads * 2 * headDim * 8) / max(largeSeconds - c.decodeFixed, 1e-9)
        // Every rank measures the same sizes (each is a collective round): from the smallest memory of any rank.
        var memory = [c.memoryBytes]
        try comm.allreduce(&memory, .min)
        let sizes =
            kernelCurve ? curveKeys(heads: heads, headDim: headDim, ranks: comm.size, memoryBytes: memory[0]) : []
        if !sizes.isEmpty {
            progress("the decode kernel at \(sizes.count) shard sizes (\(sizes.first ?? 0) to \(sizes.last ?? 0) keys)")
        }
        for keys in sizes {
            let problem = try DecodeProblem(heads: heads, headDim: headDim, keys: keys)
            // As a decode step runs it: the caches flushed by a 64 MiB read (communication and the other ranks evict
            // them between steps), a barrier, the slowest rank's time; the median over repeats.
            let seconds = try medianTime(comm, repeats: keys >= 1 << 19 ? 3 : 7, before: { _ = try stream.read() }) {
                try problem.run()
            }
            // Kept 0.1% above the fixed cost and the point before, so that the file's 9 digits keep them increasing.
            if seconds > 1.001 * max(c.decodeFixed, c.decodeCurve.last?.seconds ?? 0) {
                c.decodeCurve.append((Double(keys * heads * 2 * headDim * 8), seconds))
            }
        }
        progress("8-byte MPI_Allreduce")
        c.smallAllreduce = try medianTime(comm, repeats: 200) {
            var x = [1.0]
            try comm.allreduce(&x, .sum)
        }
        return c
    }

    /// The shard sizes (keys per rank) at which the decode kernel's curve is measured: 2^11, 2^13, ... up to 2^21, as
    /// long as every rank's problem (q, K, V in f64, twice while generated) fits a quarter of the machine's memory.
    public static func curveKeys(heads: Int, headDim: Int, ranks: Int, memoryBytes: Double) -> [Int] {
        let perKey = Double(heads * 2 * headDim * 8) * 2
        return stride(from: 11, through: 21, by: 2).map { 1 << $0 }.filter {
            Double($0) * perKey * Double(max(ranks, 1)) <= memoryBytes / 4
        }
    }

    /// Ping-pong points between rank 0 and `peer` from 8 bytes up to `maxMessage`, by factors of 4.
    static func pingPongs(_ comm: Communicator, peer: Int, maxMessage: Int) throws -> [PingPong] {
        var points: [PingPong] = []
        var size = 8
        while size <= maxMessage {
            points.append(PingPong(bytes: size, seconds: try pingPong(comm, bytes: size, peer: peer)))
            size *= 4
        }
        return points
    }

    /// Median one-way time of `bytes` between ranks 0 and `peer` (others wait at the barrier).
    /// Buffers are allocated and touched before timing (as a real run's are after its warm-up).
    static func pingPong(_ comm: Communicator, bytes: Int, peer: Int) throws -> Double {
        let doubles = [Double](repeating: 1, count: max(1, bytes / 8))
        var back = [Double](repeating: 0, count: doubles.count)
        let repeats = bytes >= 1 << 20 ? 5 : (bytes >= 1 << 16 ? 20 : 100)
        return try medianTime(comm, repeats: repeats) {
            if comm.rank == 0 {
                try comm.send(doubles, to: peer, tag: 7)
                try comm.receive(into: &back, from: peer, tag: 8)
            } else if comm.rank == peer {
                try comm.receive(into: &back, from: 0, tag: 7)
                try comm.send(back, to: 0, tag: 8)
            }
        } / 2
    }

    /// Time of one simultaneous exchange: every rank sends `bytes` to `right` while receiving from `left`.
    static func exchange(_ comm: Communicator, bytes: Int, right: Int, left: Int) throws -> Double {
        let values = [Double](repeating: 1, count: bytes / 8)
        var received = [Double](repeating: 0, count: values.count)
        // Best of 5 (a capacity): the slowest rank's time of each exchange, the fastest exchange.
        try comm.sendReceive(values, to: right, into: &received, from: left, tag: 9)
        var best = Double.infinity
        for _ in 0..<5 {
            try comm.barrier()
            let start = Communicator.time
            try comm.sendReceive(values, to: right, into: &received, from: left, tag: 9)
            var t = [Communicator.time - start]
            try comm.allreduce(&t, .max)
            best = min(best, t[0])
        }
        return best
    }

    /// Median over `repeats` of the slowest rank's time of `body`, each repeat starting after a barrier.
    static func medianTime(
        _ comm: Communicator, repeats: Int, before: () throws -> Void = {}, _ body: () throws -> Void
    ) throws -> Double {
        try body()  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            try before()
            try comm.barrier()
            let start = Communicator.time
            try body()
            var t = [Communicator.time - start]
            try comm.allreduce(&t, .max)
            times.append(t[0])
        }
        return median(times)
    }

    /// Seconds per call of `body` with all ranks calling it `repeats` times at once (after one warm-up call and a
    /// barrier): the slowest rank's total over `repeats`.
    static func concurrently(_ comm: Communicator, repeats: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        try comm.barrier()
        let start = Communicator.time
        for _ in 0..<repeats { try body() }
        var t = [Communicator.time - start]
        try comm.allreduce(&t, .max)
        return t[0] / Double(repeats)
    }

    /// A decode problem (one query, f64) built once and run by the reference kernel.
    struct DecodeProblem {
        let inputs: AttentionInputs<Double>
        init(heads: Int, headDim: Int, keys: Int) throws {
            let t = try RandomInputs(batch: 1, heads: heads, queries: 1, keys: keys, headDim: headDim, seed: 1)
                .generate().map { $0.data.tensor() }
            inputs = try AttentionInputs(q: t[0], k: t[1], v: t[2])
        }
        func run() throws { _ = try ExactAttention.forward(inputs) }
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Least squares of t = alpha + bytes / beta: beta from the points of 64 KiB and more (bandwidth-bound), alpha the
    /// median small-message time less its transfer time.
    static func fitAlphaBeta(_ points: [PingPong]) -> (Double, Double) {
        let large = points.filter { $0.bytes >= 64 << 10 }
        var beta = Double.infinity
        if large.count >= 2 {
            let n = Double(large.count)
            let mx = large.reduce(0) { $0 + Double($1.bytes) } / n, my = large.reduce(0) { $0 + $1.seconds } / n
            let sxy = large.reduce(0) { $0 + (Double($1.bytes) - mx) * ($1.seconds - my) }
            let sxx = large.reduce(0) { $0 + (Double($1.bytes) - mx) * (Double($1.bytes) - mx) }
            if sxy > 0 { beta = sxx / sxy }
        }
        let small = points.filter { $0.bytes <= 4096 }.map { $0.seconds - Double($0.bytes) / beta }
        return (max(0, median(small)), beta)
    }
}

/// A streaming-read buffer of the calibration, allocated and set once, outside the timed loops.
final class StreamBuffer {
    let values: [Double]
    init(_ bytes: Int) { values = [Double](repeating: 1, count: bytes / 8) }
    func read() throws {
        let s = values.withUnsafeBufferPointer { Double.absoluteSum($0.baseAddress!, count: $0.count) }
        guard s == Double(values.count) else { throw DistributedError.invalid("streaming read: wrong sum \(s)") }
    }
}

/// dgemm operands of the calibration, allocated once.
final class GemmBuffers {
    let n: Int
    let a: [Double], b: [Double]
    var c: [Double]
    init(_ n: Int) {
        self.n = n
        a = [Double](repeating: 0.5, count: n * n)
        b = [Double](repeating: 0.25, count: n * n)
        c = [Double](repeating: 0, count: n * n)
    }
    func run() {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Double.gemm(
                        m: n, n: n, k: n, alpha: 1, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                        transB: false,
                        beta: 0, c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }
}
