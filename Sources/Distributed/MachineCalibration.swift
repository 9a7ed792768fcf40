import Foundation
import Reference

/// What the simulator needs to know about the ranks a job runs on, measured under MPI with every rank active at once
/// (so shared cores, memory and network are shared as they will be in a real run). Times are medians.
public struct MachineCalibration: Sendable {
    /// One ping-pong point between ranks 0 and 1: message bytes and the one-way time (half the round trip).
    public struct PingPong: Sendable {
        public let bytes: Int
        public let seconds: Double
    }
    public var ranks = 1
    public var pingPong: [PingPong] = []
    /// alpha (s) and beta (bytes/s) of t = alpha + bytes / beta, least squares over the ping-pong points.
    public var latency = 0.0
    public var bandwidth = Double.infinity
    /// Bytes per second all ranks move together while each exchanges `exchangeBytes` with its ring neighbours at once.
    public var aggregateBandwidth = Double.infinity
    public var exchangeBytes = 0
    /// Streaming-read bytes/s of one rank (BLAS asum over an array far larger than the caches), all ranks reading.
    public var memoryBandwidth = 0.0
    /// f64 GEMM FLOP/s of one rank (dgemm 256 x 256 x 256), all ranks computing.
    public var gemmFlops = 0.0
    /// The decode kernel: seconds for a tiny problem (its fixed cost) and the K/V bytes/s reached on a large one.
    public var decodeFixed = 0.0
    public var decodeBandwidth = 0.0
    /// Median time of an 8-byte MPI_Allreduce.
    public var smallAllreduce = 0.0
    /// Physical memory of the machine, bytes.
    public var memoryBytes = 0.0

    public init() {}

    /// Runs every measurement on all ranks of `comm`; every rank must call it. `decode` is the decode problem whose
    /// kernel rate is measured (heads, head dim; keys per rank), `maxMessage` the largest ping-pong message.
    public static func measure(_ comm: Communicator, heads: Int, headDim: Int, decodeKeys: Int,
                               maxMessage: Int = 16 << 20, progress: (String) -> Void = { _ in }) throws -> MachineCalibration {
        var c = MachineCalibration()
        c.ranks = comm.size
        c.memoryBytes = Double(ProcessInfo.processInfo.physicalMemory)
        progress("ping-pong between ranks 0 and 1")
        if comm.size >= 2 {
            var size = 8
            while size <= maxMessage {
                c.pingPong.append(PingPong(bytes: size, seconds: try pingPong(comm, bytes: size)))
                size *= 4
            }
            (c.latency, c.bandwidth) = fitAlphaBeta(c.pingPong)
            progress("all ranks exchanging with their ring neighbours")
            c.exchangeBytes = maxMessage
            let t = try exchange(comm, bytes: c.exchangeBytes)
            c.aggregateBandwidth = Double(comm.size * c.exchangeBytes) / t
        }
        progress("memory bandwidth, GEMM rate and the decode kernel on every rank")
        c.memoryBandwidth = try concurrently(comm) { try streamRead() }
        c.gemmFlops = try concurrently(comm) { try gemmRate() }
        let small = try concurrently(comm) { try decodeSeconds(heads: heads, headDim: headDim, keys: 16) }
        let large = try concurrently(comm) { try decodeSeconds(heads: heads, headDim: headDim, keys: decodeKeys) }
        c.decodeFixed = small
        c.decodeBandwidth = Double(decodeKeys * heads * 2 * headDim * 8) / max(large - small, 1e-9)
        progress("8-byte MPI_Allreduce")
        c.smallAllreduce = try medianTime(comm, repeats: 200) {
            var x = [1.0]
            try comm.allreduce(&x, .sum)
        }
        return c
    }

    /// Median one-way time of `bytes` between ranks 0 and 1 (others wait at the barrier).
    /// Buffers are allocated and touched before timing (as a real run's are after its warm-up).
    static func pingPong(_ comm: Communicator, bytes: Int) throws -> Double {
        let doubles = [Double](repeating: 1, count: max(1, bytes / 8))
        var back = [Double](repeating: 0, count: doubles.count)
        let repeats = bytes >= 1 << 20 ? 5 : (bytes >= 1 << 16 ? 20 : 100)
        return try medianTime(comm, repeats: repeats) {
            if comm.rank == 0 {
                try comm.send(doubles, to: 1, tag: 7)
                try comm.receive(into: &back, from: 1, tag: 8)
            } else if comm.rank == 1 {
                try comm.receive(into: &back, from: 0, tag: 7)
                try comm.send(back, to: 0, tag: 8)
            }
        } / 2
    }

    /// Time of one simultaneous exchange: every rank sends `bytes` to rank+1 while receiving from rank-1.
    static func exchange(_ comm: Communicator, bytes: Int) throws -> Double {
        let values = [Double](repeating: 1, count: bytes / 8)
        var received = [Double](repeating: 0, count: values.count)
        let right = (comm.rank + 1) % comm.size, left = (comm.rank - 1 + comm.size) % comm.size
        return try medianTime(comm, repeats: 5) {
            try comm.sendReceive(values, to: right, into: &received, from: left, tag: 9)
        }
    }

    /// Median over `repeats` of the slowest rank's time of `body`, each repeat starting after a barrier.
    static func medianTime(_ comm: Communicator, repeats: Int, _ body: () throws -> Void) throws -> Double {
        try body()  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            try comm.barrier()
            let start = Communicator.time
            try body()
            var t = [Communicator.time - start]
            try comm.allreduce(&t, .max)
            times.append(t[0])
        }
        return median(times)
    }

    /// Runs `body` on all ranks at once (after a barrier) and returns the median over ranks of what it measured.
    static func concurrently(_ comm: Communicator, _ body: () throws -> Double) throws -> Double {
        try comm.barrier()
        return median(try comm.allgather(try body()))
    }

    /// Streaming-read bytes/s: BLAS asum over 64 MiB, best of 5.
    static func streamRead() throws -> Double {
        let n = 8 << 20
        let x = [Double](repeating: 1, count: n)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = Communicator.time
            let s = x.withUnsafeBufferPointer { Double.absoluteSum($0.baseAddress!, count: n) }
            precondition(s == Double(n))
            best = min(best, Communicator.time - start)
        }
        return Double(n * 8) / best
    }

    /// dgemm FLOP/s at 256^3, best of 5.
    static func gemmRate() throws -> Double {
        let n = 256
        let a = [Double](repeating: 0.5, count: n * n), b = [Double](repeating: 0.25, count: n * n)
        var c = [Double](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = Communicator.time
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                Double.gemm(m: n, n: n, k: n, alpha: 1, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, transB: false,
                            beta: 0, c: pc.baseAddress!, ldc: n)
            }}}
            best = min(best, Communicator.time - start)
        }
        return 2 * Double(n * n * n) / best
    }

    /// Median seconds of one f64 decode step (one query) over `keys` keys with the reference kernel.
    static func decodeSeconds(heads: Int, headDim: Int, keys: Int) throws -> Double {
        let spec = RandomInputs(batch: 1, heads: heads, queries: 1, keys: keys, headDim: headDim, seed: 1)
        let t = try spec.generate().map { $0.data.tensor() }
        let x = try AttentionInputs(q: t[0], k: t[1], v: t[2])
        var times: [Double] = []
        for _ in 0..<7 {
            let start = Communicator.time
            _ = try ExactAttention.forward(x)
            times.append(Communicator.time - start)
        }
        return median(times)
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
