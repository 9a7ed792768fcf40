/// Butterfly collectives for p a power of two, as explicit per-rank step lists (log2 p steps each):
/// recursive doubling all-reduce log2(p)(a + n b + n g); recursive-doubling all-gather log2(p) a + (p-1)/p n b;
/// recursive-halving reduce-scatter log2(p) a + (p-1)/p n (b + g); Rabenseifner (halving then doubling)
/// 2 log2(p) a + 2(p-1)/p n b + (p-1)/p n g.
public enum RecursiveProgram {
    static func log2Exact(_ p: Int, _ what: String) throws -> Int {
        guard p >= 1, p & (p - 1) == 0 else {
            throw SimulatorError.unsupported("\(what) needs a power-of-two number of ranks, got \(p)")
        }
        return p.trailingZeroBitCount
    }

    /// Exchange of the full buffer with partner rank ^ 2^i, then a reduction.
    public static func doublingAllReduce(ranks p: Int, bytes: Double, options: CollectiveOptions) throws -> RankProgram
    {
        let steps = try log2Exact(p, "recursive doubling")
        return ListProgram(
            singleLane: (0..<p).map { r in
                (0..<steps).flatMap { i -> [RankOperation] in
                    let partner = r ^ (1 << i)
                    return [
                        .send(to: partner, bytes: bytes, tag: Int64(i)), .recv(from: partner, tag: Int64(i)),
                        .compute(options.reduceTime(bytes), label: "reduce"),
                    ]
                }
            })
    }

    /// Recursive halving: step i exchanges n/2^(i+1) bytes with partner rank ^ (p/2^(i+1)) and reduces it.
    static func halvingOps(
        rank r: Int, ranks p: Int, steps: Int, bytes: Double, options: CollectiveOptions,
        tagBase: Int64
    ) -> [RankOperation] {
        (0..<steps).flatMap { i -> [RankOperation] in
            let partner = r ^ (p >> (i + 1))
            let size = bytes / Double(1 << (i + 1))
            return [
                .send(to: partner, bytes: size, tag: tagBase + Int64(i)), .recv(from: partner, tag: tagBase + Int64(i)),
                .compute(options.reduceTime(size), label: "reduce"),
            ]
        }
    }

    /// Recursive doubling all-gather: step i exchanges 2^i n/p bytes with partner rank ^ 2^i.
    static func doublingGatherOps(rank r: Int, ranks p: Int, steps: Int, bytes: Double, tagBase: Int64)
        -> [RankOperation]
    {
        (0..<steps).flatMap { i -> [RankOperation] in
            let partner = r ^ (1 << i)
            let size = bytes * Double(1 << i) / Double(p)
            return [
                .send(to: partner, bytes: size, tag: tagBase + Int64(i)), .recv(from: partner, tag: tagBase + Int64(i)),
            ]
        }
    }

    /// Rabenseifner's all-reduce of a `bytes` buffer: recursive-halving reduce-scatter, then recursive-doubling
    /// all-gather (2 log2 p steps). Throws `SimulatorError.unsupported` unless p is a power of two.
    public static func rabenseifner(ranks p: Int, bytes: Double, options: CollectiveOptions) throws -> RankProgram {
        let steps = try log2Exact(p, "rabenseifner")
        return ListProgram(
            singleLane: (0..<p).map { r in
                halvingOps(rank: r, ranks: p, steps: steps, bytes: bytes, options: options, tagBase: 0)
                    + doublingGatherOps(rank: r, ranks: p, steps: steps, bytes: bytes, tagBase: Int64(steps))
            })
    }

    /// Recursive-halving reduce-scatter of `bytes` in all (the total input): step i exchanges bytes/2^(i+1) with
    /// partner rank ^ (p/2^(i+1)) and reduces it. Throws `SimulatorError.unsupported` unless p is a power of two.
    public static func halvingReduceScatter(ranks p: Int, bytes: Double, options: CollectiveOptions) throws
        -> RankProgram
    {
        let steps = try log2Exact(p, "recursive halving")
        return ListProgram(
            singleLane: (0..<p).map {
                halvingOps(rank: $0, ranks: p, steps: steps, bytes: bytes, options: options, tagBase: 0)
            })
    }

    /// Recursive-doubling all-gather of `bytes` in all (the gathered output): step i exchanges 2^i bytes/p with
    /// partner rank ^ 2^i. Throws `SimulatorError.unsupported` unless p is a power of two.
    public static func doublingAllGather(ranks p: Int, bytes: Double) throws -> RankProgram {
        let steps = try log2Exact(p, "recursive doubling")
        return ListProgram(
            singleLane: (0..<p).map { doublingGatherOps(rank: $0, ranks: p, steps: steps, bytes: bytes, tagBase: 0) })
    }

    /// Binomial broadcast from rank 0: in round i, every rank r < 2^i sends the whole buffer to r + 2^i, one
    /// message at a time per rank (the textbook one-port model: ceil(log2 p)(a + n b)).
    public static func binomialBroadcast(ranks p: Int, bytes: Double) -> RankProgram {
        var ops = [[RankOperation]](repeating: [], count: p)
        var span = 1
        var round: Int64 = 0
        while span < p {
            for r in 0..<span where r + span < p {
                ops[r].append(.send(to: r + span, bytes: bytes, tag: round))
                ops[r].append(.waitSends)
                ops[r + span].append(.recv(from: r, tag: round))
            }
            span <<= 1
            round += 1
        }
        // A receiver must receive before it sends: receives were appended in earlier rounds, so order holds.
        return ListProgram(singleLane: ops)
    }
}
