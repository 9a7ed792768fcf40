/// NVLink SHARP (NVLS) collectives over ranks 0..p-1 that share one NVSwitch: the switch reduces and multicasts, so
/// no GPU adds anything up and no byte crosses a GPU twice. Each rank owns slice r of the buffer, cut into `segments`
/// chunks of S bytes; per chunk the owner reads the chunk's sum from every rank through the switch
/// ("multimem.ld_reduce": one `SwitchFlow` from all ranks to the owner) and writes it back to every rank
/// ("multimem.st": one `SwitchFlow` from the owner to all ranks). Reduce-scatter is the reads alone, all-gather the
/// writes alone. Before reading or writing a peer's buffer every rank announces itself with an empty multicast (the
/// barrier NCCL's NVLS kernels pass through the switch's multicast memory).
///
/// Link loads per rank, all-reduce of n bytes: n + n/p into the switch and n/p + n out of it, against 2(p-1)/p n
/// each way for a ring: the switch's bus bandwidth bound is 2(p-1)/(p+1) B for links of B bytes/s each way (NCCL's
/// NVLS graph, (h + 1) s within the links, is the same bound). Closed forms (links of B each way, zero latency,
/// k chunks of S = n/(pk), back-to-back): reduce-scatter and all-gather n/B; all-reduce
/// (S/B)((k + 1)(p + 1) - 2): the first chunk's read alone at B/p, k - 1 rounds with every link carrying p + 1
/// flows, the last chunk's write alone at B/p.
public struct NVLSProgram: RankProgram {
    /// What the program computes.
    public enum Kind: Sendable {
        /// Every rank ends with the sum of all buffers (reads then writes).
        case allReduce
        /// Rank r ends with slice r of the sum (reads only).
        case reduceScatter
        /// Every rank ends with every rank's slice (writes only).
        case allGather
    }

    public let ranks: Int
    /// What the program computes.
    public let kind: Kind
    /// Bytes per chunk flow (the slice n/p split into `segments`).
    public let chunkBytes: Double
    /// Chunks per slice.
    public let segments: Int

    /// The NVLS collective of `kind` over a buffer of `bytes` (all-gather: the gathered result; reduce-scatter: each
    /// rank's input), each rank's slice of bytes/p cut into `segments` chunks. Throws
    /// `SimulatorError.invalidArgument` unless `ranks` >= 1 and `segments` >= 1.
    public init(_ kind: Kind, ranks: Int, bytes: Double, segments: Int) throws {
        guard ranks >= 1, segments >= 1 else {
            throw SimulatorError.invalidArgument("an NVLS collective needs at least one rank and one segment")
        }
        self.ranks = ranks
        self.kind = kind
        self.segments = segments
        chunkBytes = bytes / Double(ranks) / Double(segments)
    }

    public func lanes(rank: Int) -> Int { ranks > 1 ? 1 : 0 }

    /// Tags: 0 the barrier, 1 + 2c the read of chunk c, 2 + 2c its write.
    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        let p = ranks, k = segments
        let reads = kind != .allGather, writes = kind != .reduceScatter
        var s = step
        // The barrier: announce, then hear from every other rank.
        if s == 0 {
            return .switchFlow(SwitchFlow(sources: [rank], destinations: others(rank), bytes: 0, tag: 0, channel: 1))
        }
        s -= 1
        if s < p - 1 { return .recv(from: s < rank ? s : s + 1, tag: 0) }
        s -= p - 1
        if reads {
            // Every chunk's read of this rank's slice, queued back to back on one channel.
            if s < k {
                return .switchFlow(
                    SwitchFlow(
                        sources: Array(0..<p), destinations: [rank], bytes: chunkBytes, tag: 1 + 2 * Int64(s),
                        channel: 0))
            }
            s -= k
            if !writes {
                if s < k { return .recv(from: rank, tag: 1 + 2 * Int64(s)) }
                s -= k
            }
        }
        if writes {
            // Each chunk written to every rank as soon as it is read (all-gather: at once).
            if s < (reads ? 2 * k : k) {
                let c = reads ? s / 2 : s
                if reads && s % 2 == 0 { return .recv(from: rank, tag: 1 + 2 * Int64(c)) }
                return .switchFlow(
                    SwitchFlow(
                        sources: [rank], destinations: Array(0..<p), bytes: chunkBytes, tag: 2 + 2 * Int64(c),
                        channel: 2))
            }
            s -= reads ? 2 * k : k
            if s < p * k { return .recv(from: s % p, tag: 2 + 2 * Int64(s / p)) }
            s -= p * k
        }
        return s == 0 ? .waitSends : nil
    }

    private func others(_ rank: Int) -> [Int] { (0..<ranks).filter { $0 != rank } }
}
