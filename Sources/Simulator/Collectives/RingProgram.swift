/// Ring collectives over ranks 0..p-1 (rank r sends to r+1 and receives from r-1): `reduceSteps` reduce-scatter
/// steps (send, receive, reduce a chunk) followed by `gatherSteps` all-gather steps (send, receive). Operations are
/// computed on demand, so a 4096-rank ring costs no memory.
///
/// Closed forms (uncontended, latency a, seconds per byte b, gamma g, chunk n/p):
/// reduce-scatter or all-gather (p-1)(a + n b/p); all-reduce 2(p-1) a + 2(p-1)/p n b + (p-1)/p n g.
public struct RingProgram: RankProgram {
    public let ranks: Int
    /// Bytes sent per step (one chunk).
    public let chunkBytes: Double
    /// Reduce-scatter steps (send, receive, reduce), run first.
    public let reduceSteps: Int
    /// All-gather steps (send, receive), run after the reduce-scatter steps.
    public let gatherSteps: Int
    /// Compute time of each reduction of a received chunk.
    public let reduceTime: SimTime

    /// A ring with every part given (`allReduce(ranks:bytes:options:)` builds the all-reduce).
    public init(ranks: Int, chunkBytes: Double, reduceSteps: Int, gatherSteps: Int, reduceTime: SimTime) {
        self.ranks = ranks
        self.chunkBytes = chunkBytes
        self.reduceSteps = reduceSteps
        self.gatherSteps = gatherSteps
        self.reduceTime = reduceTime
    }

    /// The ring all-reduce of a `bytes` buffer over p ranks: p-1 reduce-scatter and p-1 all-gather steps of
    /// bytes/p chunks, each reduction costed by `options`.
    public static func allReduce(ranks p: Int, bytes: Double, options: CollectiveOptions) -> RingProgram {
        RingProgram(
            ranks: p, chunkBytes: bytes / Double(p), reduceSteps: p - 1, gatherSteps: p - 1,
            reduceTime: options.reduceTime(bytes / Double(p)))
    }

    public func lanes(rank: Int) -> Int { ranks > 1 ? 1 : 0 }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        let next = rank + 1 == ranks ? 0 : rank + 1
        let prev = rank == 0 ? ranks - 1 : rank - 1
        if step < 3 * reduceSteps {
            let s = Int64(step / 3)
            switch step % 3 {
            case 0: return .send(to: next, bytes: chunkBytes, tag: s, channel: 0)
            case 1: return .recv(from: prev, tag: s)
            default: return .compute(reduceTime, label: "reduce")
            }
        }
        let j = step - 3 * reduceSteps
        guard j < 2 * gatherSteps else { return nil }
        let s = Int64(reduceSteps + j / 2)
        return j % 2 == 0 ? .send(to: next, bytes: chunkBytes, tag: s, channel: 0) : .recv(from: prev, tag: s)
    }
}
