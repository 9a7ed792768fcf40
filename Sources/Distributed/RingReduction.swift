import Reference

/// Ring Attention on MPI: at hop h every rank holds the K/V of shard (rank - h) mod p, folds that block's attention
/// into its running (O, LSE) with `RingAttention.fold` (the single-process ring's update), and passes the block to
/// rank + 1 while receiving the next from rank - 1 (`MPI_Sendrecv`, K then V), p-1 hops in all. Every rank computes the
/// full result (queries are replicated, as in ring decode); rank 0's visit order 0, p-1, ..., 1 is
/// `RingAttention.visitOrder(owner: 0)`, so it matches `treeattn attention --reduction ring`.
///
/// Blocks are received straight into two pairs of buffers used in turn (never into the block being sent), kept from
/// one run to the next as real ring kernels keep theirs: after a warm-up run a hop costs the transfer alone, with no
/// allocation or page faults of a fresh buffer.
final class RingReduction: RankReduction {
    /// The two (K, V) buffer pairs of the previous run, as `[S]` arrays.
    private var pool: [Any] = []

    func run<S: MPIScalar>(
        _ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog
    ) throws -> AttentionPartial<S>? {
        let p = comm.size, x = shard.inputs
        var buffers = (pool as? [[S]]).flatMap { $0.count == 4 ? $0 : nil } ?? [[], [], [], []]
        pool = []  // the arrays below are now uniquely referenced, so receiving into them never copies
        defer { pool = buffers }
        var k = x.k, v = x.v
        var holding = comm.rank
        var running = shard.emptyPartial
        for hop in 0..<p {
            let range = shard.layout.ranges[holding]
            let block = try log.time(hop == 0 ? "local attention" : "attention hop \(hop)", comm) {
                try shard.partial(k: k, v: v, range: range)
            }
            RingAttention.fold(block, into: &running)
            if hop == p - 1 { break }
            let from = (holding - 1 + p) % p
            let incoming = shard.layout.ranges[from].count
            let kShape = [x.batch, x.kvHeads, incoming, x.headDim], vShape = [x.batch, x.kvHeads, incoming, x.valueDim]
            let pair = 2 * (hop % 2)
            // Drop the block computed two hops ago, so its buffer is referenced only by `buffers` again.
            k = try Tensor(shape: [0, 0, 0, 0], data: [])
            v = k
            try log.time("sendrecv hop \(hop + 1)", comm) {
                let right = (comm.rank + 1) % p, left = (comm.rank - 1 + p) % p
                let sendK = hop == 0 ? x.k.data : buffers[2 * ((hop - 1) % 2)],
                    sendV = hop == 0 ? x.v.data : buffers[2 * ((hop - 1) % 2) + 1]
                Self.resize(&buffers[pair], to: kShape.reduce(1, *))
                Self.resize(&buffers[pair + 1], to: vShape.reduce(1, *))
                try comm.sendReceive(sendK, to: right, into: &buffers[pair], from: left, tag: 2 * hop)
                try comm.sendReceive(sendV, to: right, into: &buffers[pair + 1], from: left, tag: 2 * hop + 1)
            }
            k = try Tensor(shape: kShape, data: buffers[pair])
            v = try Tensor(shape: vShape, data: buffers[pair + 1])
            holding = from
        }
        return comm.rank == 0 ? running : nil
    }

    /// Sets the element count, keeping the capacity (uneven shards differ by one key's rows).
    static func resize<S: MPIScalar>(_ buffer: inout [S], to count: Int) {
        if buffer.count > count {
            buffer.removeLast(buffer.count - count)
        } else if buffer.count < count {
            buffer.append(contentsOf: repeatElement(0, count: count - buffer.count))
        }
    }
}
