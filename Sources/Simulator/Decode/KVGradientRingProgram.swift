/// Ring Attention's backward over ranks 0..p-1 (the decode setting: each rank owns one K/V chunk, queries, O, dO and
/// the log-sum-exp are on every rank): the K/V chunks travel around the ring again, every rank computes the backward
/// block against the chunk it holds (its share of dQ, and that chunk's dK/dV contribution), and the dK/dV
/// accumulators travel too, so that each ends at its chunk's owner. Gradient messages have the K/V chunk's size
/// (`gradientBytes`, as sent). Operations are computed on demand (no per-rank lists).
///
/// - Overlapped (`overlap`): as the forward ring, step s sends the held K/V chunk on, computes the block, receives
///   the next chunk (p-1 K/V hops). The accumulator of rank o's chunk starts on rank o+1 and follows the chunk:
///   at step s >= 1 a rank adds its block's dK/dV to the accumulator that arrived from rank r-1 (none at s = 1) and
///   sends it on, on its own channel (1), so it overlaps the next block; after the last step each accumulator makes
///   one hop home, where the owner adds its own step-0 block. p-1 dK/dV hops: a device sends exactly twice the
///   forward's K/V bytes. Uncontended and compute bound: p T_block + (p-1) T_add + a + S b.
/// - Sequential (`overlap` off; the JAX baseline's p hops): the accumulator travels with its chunk from the owner:
///   step s computes the block, adds it into the accumulator (s >= 1; at s = 0 the block's output is the
///   accumulator), sends K/V then dK/dV on (one FIFO channel), receives both: p (T_block + a + 2 S b)
///   + (p-1) T_add uncontended; p hops each, again twice the forward's bytes.
///
/// Each chunk and each accumulator travels as `messagesPerChunk` messages of equal size. Tags: K/V message i of
/// step s is 2(s m + i), the accumulator's 2(s m + i) + 1.
public struct KVGradientRingProgram: SteppedProgram {
    public let ranks: Int
    /// Whether each step overlaps its hops with the block's compute (see above); off, the sequential ring of p hops.
    public let overlap: Bool
    /// Messages per K/V chunk hop and per accumulator hop (1 or more), of equal size.
    public let messagesPerChunk: Int
    /// Bytes of the K/V chunk that starts on each rank, as sent (K and V together).
    public let chunkBytes: [Double]
    /// Bytes of that chunk's dK/dV accumulator, as sent.
    public let gradientBytes: [Double]
    /// The backward block against each rank's chunk (labelled "flash-backward").
    public let blockTimes: [SimTime]
    /// Adding a block's dK/dV into each chunk's accumulator (labelled "accumulate dK/dV").
    public let accumulateTimes: [SimTime]
    /// The step structure's p (the steps' count and the final hop home): the ranks, or fewer for a prefix
    /// (`prefix(steps:)`); chunk origins and neighbours always use the ranks.
    private var lastStep: Int? = nil
    private var structuralSteps: Int { lastStep ?? ranks }

    /// K/V hops: p-1 overlapped, p sequential (as the forward rings, so a training step cuts both alike).
    public var steps: Int? { ranks <= 1 ? 0 : (overlap ? ranks - 1 : ranks) }

    /// The ring closed after `steps` K/V hops (at least 1): the same step structure with p replaced by steps+1
    /// (overlapped) or steps (sequential), each accumulator's last hop going one rank on instead of home.
    public func prefix(steps: Int) -> RankProgram {
        var cut = self
        // At least one hop (an overlapped ring of one step would wait for an accumulator nobody sends).
        let hops = max(1, steps)
        cut.lastStep = min(ranks, overlap ? hops + 1 : hops)
        return cut
    }

    /// A gradient ring with one chunk size, gradient size, block time and accumulate time per rank. Throws
    /// `SimulatorError.invalidArgument` unless `ranks` >= 1, `messagesPerChunk` >= 1 and every array has one entry
    /// per rank.
    public init(
        ranks: Int, overlap: Bool, messagesPerChunk: Int = 1, chunkBytes: [Double], gradientBytes: [Double],
        blockTimes: [SimTime], accumulateTimes: [SimTime]
    ) throws {
        guard ranks >= 1, messagesPerChunk >= 1,
            [chunkBytes.count, gradientBytes.count, blockTimes.count, accumulateTimes.count].allSatisfy({ $0 == ranks })
        else {
            throw SimulatorError.invalidArgument(
                "a K/V gradient ring needs ranks >= 1, messages per chunk >= 1 and one chunk size, gradient size, block and accumulate time per rank"
            )
        }
        self.ranks = ranks
        self.overlap = overlap
        self.messagesPerChunk = messagesPerChunk
        self.chunkBytes = chunkBytes
        self.gradientBytes = gradientBytes
        self.blockTimes = blockTimes
        self.accumulateTimes = accumulateTimes
    }

    /// Operations of step s (s = p: the overlapped ring's final hop home).
    private func count(step s: Int) -> Int {
        let m = messagesPerChunk, L = structuralSteps
        guard ranks > 1 else { return s == 0 ? 1 : 0 }
        if !overlap { return s < L ? 1 + (s >= 1 ? 1 : 0) + 4 * m : 0 }
        if s == L { return m + 1 }
        if s > L { return 0 }
        let hop = s < L - 1 ? 2 * m : 0
        let accumulate = s >= 2 ? m + 1 : 0
        let forward = s >= 1 ? m : 0
        return hop + 1 + accumulate + forward
    }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        // Steps 2..<p-1 of the overlapped ring (and 1..<p of the sequential one) have the same number of operations,
        // so the step holding operation `step` follows from the irregular first and last steps and one division.
        let p = structuralSteps
        let regularFirst = overlap ? 2 : 1, regularEnd = overlap ? p - 1 : p
        var k = step, s = 0
        while s < regularFirst && s <= p {
            let n = count(step: s)
            if k < n { return operation(rank: rank, step: s, k) }
            k -= n
            s += 1
        }
        if regularEnd > regularFirst {
            let n = count(step: regularFirst), regular = regularEnd - regularFirst
            if k < regular * n { return operation(rank: rank, step: regularFirst + k / n, k % n) }
            k -= regular * n
            s = regularEnd
        }
        while s <= p {
            let n = count(step: s)
            if k < n { return operation(rank: rank, step: s, k) }
            k -= n
            s += 1
        }
        return nil
    }

    /// Operation k of step s on a rank.
    private func operation(rank r: Int, step s: Int, _ k: Int) -> RankOperation {
        let m = messagesPerChunk, p = ranks
        let next = r + 1 == p ? 0 : r + 1, prev = r == 0 ? p - 1 : r - 1
        let origin = ((r - s) % p + p) % p
        func kvTag(_ s: Int, _ i: Int) -> Int64 { Int64(2 * (s * m + i)) }
        func gradientTag(_ s: Int, _ i: Int) -> Int64 { Int64(2 * (s * m + i) + 1) }
        let block = RankOperation.compute(blockTimes[origin], label: "flash-backward")
        let add = RankOperation.compute(accumulateTimes[origin], label: "accumulate dK/dV")
        var j = k
        if !overlap {
            if j == 0 { return block }
            j -= 1
            if s >= 1 {
                if j == 0 { return add }
                j -= 1
            }
            if j < m { return .send(to: next, bytes: chunkBytes[origin] / Double(m), tag: kvTag(s, j)) }
            j -= m
            if j < m { return .send(to: next, bytes: gradientBytes[origin] / Double(m), tag: gradientTag(s, j)) }
            j -= m
            if j < m { return .recv(from: prev, tag: kvTag(s, j)) }
            j -= m
            return .recv(from: prev, tag: gradientTag(s, j))
        }
        let L = structuralSteps
        if s == L {  // the accumulator of this rank's own chunk comes home
            if j < m { return .recv(from: prev, tag: gradientTag(L - 1, j)) }
            return .compute(accumulateTimes[r], label: "accumulate dK/dV")
        }
        let hop = s < L - 1
        if hop {
            if j < m { return .send(to: next, bytes: chunkBytes[origin] / Double(m), tag: kvTag(s, j)) }
            j -= m
        }
        if j == 0 { return block }
        j -= 1
        if s >= 2 {
            if j < m { return .recv(from: prev, tag: gradientTag(s - 1, j)) }
            j -= m
            if j == 0 { return add }
            j -= 1
        }
        if s >= 1 {
            if j < m {
                return .send(to: next, bytes: gradientBytes[origin] / Double(m), tag: gradientTag(s, j), channel: 1)
            }
            j -= m
        }
        return .recv(from: prev, tag: kvTag(s, j))
    }
}
