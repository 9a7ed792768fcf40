/// Ring Attention's K/V passing over ranks 0..p-1: every rank starts with its own K/V chunk and, at step s, holds
/// the chunk of rank (r - s) mod p, computes an attention block against it and passes it on to rank r+1 (receiving
/// the next one from rank r-1). Used by the `ring` decode strategies and by the causal ring-attention prefill of
/// `GenerationModel`. Operations are computed on demand (no per-rank lists).
///
/// Each chunk travels as `messagesPerChunk` messages of equal size (1: K and V together, 2: K then V); message i of
/// step s has tag `s * messagesPerChunk + i`. Per step, a rank runs
/// - overlapped: send the held chunk on, compute its block, receive the next chunk (p-1 hops, the last step only
///   computes): T_block + (p-1) max(T_block, a + S b) on an uncontended ring;
/// - sequential: compute, send, receive (p hops, the chunk comes home): p (T_block + a + S b); with
///   `chunkComesHome` off, p-1 hops and p blocks (MPI_Sendrecv rings such as `treeattn-mpi`'s):
///   p T_block + (p-1)(a + S b).
public struct KVRingProgram: SteppedProgram {
    /// The attention block each rank computes at each step.
    public enum Blocks: Sendable {
        /// Every step computes against the chunk held: `times[origin]` for the chunk of rank `origin`, labelled
        /// `label` (decode: flash-decode over that rank's tokens).
        case perChunk(times: [SimTime], label: String)
        /// Causal prefill: rank r computes its own diagonal block at step 0 (`diagonal`, "causal block"), a full
        /// block ("block") against the chunks of ranks before it (steps 1...r), and skips the chunks of later ranks.
        case causal(diagonal: SimTime, full: SimTime)
        /// Any block per (rank, origin of the chunk held): `time(rank, origin)`, labelled `label`; a zero time is a
        /// block with nothing visible, skipped (the prefill strategies of `Prefill/`: causal masks over any token
        /// placement, or queries travelling instead of K/V).
        case pairwise(label: String, time: @Sendable (_ rank: Int, _ origin: Int) -> SimTime)
    }

    public let ranks: Int
    /// Whether the hop overlaps the block's compute (see above).
    public let overlap: Bool
    /// Messages per chunk hop (1 or more), of `chunkBytes[origin] / messagesPerChunk` bytes each.
    public let messagesPerChunk: Int
    /// Bytes of the K/V chunk that starts on each rank (K and V together).
    public let chunkBytes: [Double]
    /// The attention block each rank computes at each step (per chunk for decode, causal for prefill).
    public let blocks: Blocks
    /// Sequential rings only: whether the chunk makes the p-th hop back to its owner (the JAX baseline) or stops
    /// after p-1 hops.
    public let chunkComesHome: Bool
    /// A prefix of the ring (`prefix(steps:)`): hops after this many are cut, with the blocks after them.
    private var hopLimit: Int? = nil

    /// A ring over `ranks` ranks whose chunk starting on rank r has `chunkBytes[r]` bytes. Throws
    /// `SimulatorError.invalidArgument` unless `ranks` >= 1, `messagesPerChunk` >= 1, `chunkBytes` has one entry per
    /// rank and, for `perChunk` blocks, so has `times`.
    public init(
        ranks: Int, overlap: Bool, messagesPerChunk: Int = 1, chunkBytes: [Double], blocks: Blocks,
        chunkComesHome: Bool = true
    ) throws {
        guard ranks >= 1, messagesPerChunk >= 1, chunkBytes.count == ranks else {
            throw SimulatorError.invalidArgument(
                "a K/V ring needs ranks >= 1, messages per chunk >= 1 and one chunk size per rank")
        }
        if case .perChunk(let times, _) = blocks, times.count != ranks {
            throw SimulatorError.invalidArgument(
                "a K/V ring needs one block time per rank, got \(times.count) for \(ranks)")
        }
        self.ranks = ranks
        self.overlap = overlap
        self.messagesPerChunk = messagesPerChunk
        self.chunkBytes = chunkBytes
        self.blocks = blocks
        self.chunkComesHome = chunkComesHome
    }

    /// Hops of the whole ring.
    private var allHops: Int { ranks == 1 ? 0 : (overlap || !chunkComesHome ? ranks - 1 : ranks) }

    /// Steps 0..<hops move the chunk on (a prefix of the p steps).
    private var hops: Int { min(allHops, hopLimit ?? allHops) }

    /// Steps 0..<computing(rank) compute a block (a prefix of the p steps); a cut ring keeps the blocks that follow
    /// its hops (overlapped: one more block than hops).
    private func computing(rank: Int) -> Int {
        switch blocks {
        case .perChunk, .pairwise: return ranks - (allHops - hops)
        case .causal: return rank + 1
        }
    }

    /// The hops (every step moves each chunk once); nil for causal and pairwise blocks, whose steps differ per rank.
    public var steps: Int? {
        guard case .perChunk = blocks else { return nil }
        return allHops
    }

    public func prefix(steps: Int) -> RankProgram {
        var cut = self
        cut.hopLimit = max(0, steps)
        return cut
    }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        // A step has 2m communication operations while it hops and one compute while it computes; both are
        // prefixes of the steps, so the step holding operation `step` follows from two linear pieces.
        let m = messagesPerChunk, h = hops, c = computing(rank: rank)
        let both = min(h, c), either = max(h, c)
        let full = 2 * m + 1, partial = h > c ? 2 * m : 1
        let s: Int, k: Int
        if step < both * full {
            (s, k) = (step / full, step % full)
        } else if step - both * full < (either - both) * partial {
            let i = step - both * full
            (s, k) = (both + i / partial, i % partial)
        } else {
            return nil
        }
        let hop = s < h, compute = s < c
        let next = rank + 1 == ranks ? 0 : rank + 1, prev = rank == 0 ? ranks - 1 : rank - 1
        let origin = ((rank - s) % ranks + ranks) % ranks
        func send(_ i: Int) -> RankOperation {
            .send(to: next, bytes: chunkBytes[origin] / Double(m), tag: Int64(s * m + i))
        }
        func recv(_ i: Int) -> RankOperation { .recv(from: prev, tag: Int64(s * m + i)) }
        var j = k
        if overlap {
            if hop {
                if j < m { return send(j) }
                j -= m
            }
            if compute {
                if j == 0 { return block(rank: rank, step: s, origin: origin) }
                j -= 1
            }
            return recv(j)
        }
        if compute {
            if j == 0 { return block(rank: rank, step: s, origin: origin) }
            j -= 1
        }
        return j < m ? send(j) : recv(j - m)
    }

    private func block(rank: Int, step s: Int, origin: Int) -> RankOperation {
        switch blocks {
        case .perChunk(let times, let label): return .compute(times[origin], label: label)
        case .causal(let diagonal, let full):
            return s == 0 ? .compute(diagonal, label: "causal block") : .compute(full, label: "block")
        case .pairwise(let label, let time):
            let t = time(rank, origin)
            return .compute(t, label: t == .zero ? "skipped (masked)" : label)
        }
    }
}
