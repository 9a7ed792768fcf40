import Reference

/// Ring Attention on MPI: at hop h every rank holds the K/V of shard (rank - h) mod p, folds that block's attention
/// into its running (O, LSE) with `RingAttention.fold` (the single-process ring's update), and passes the block to
/// rank + 1 while receiving the next from rank - 1 (`MPI_Sendrecv`, K then V), p-1 hops in all. Every rank computes the full
/// result (queries are replicated, as in ring decode); rank 0's visit order 0, p-1, ..., 1 is
/// `RingAttention.visitOrder(owner: 0)`, so it matches `treeattn attention --reduction ring`.
struct RingReduction: RankReduction {
    func run<S: MPIScalar>(_ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog) throws -> AttentionPartial<S>? {
        let p = comm.size, x = shard.inputs
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
            try log.time("sendrecv hop \(hop + 1)", comm) {
                // K then V, each received straight into the array the next block's tensor uses (no packing copies).
                let right = (comm.rank + 1) % p, left = (comm.rank - 1 + p) % p
                k = try Tensor(shape: kShape, data: comm.sendReceive(k.data, to: right, receiving: kShape.reduce(1, *), from: left, tag: 2 * hop))
                v = try Tensor(shape: vShape, data: comm.sendReceive(v.data, to: right, receiving: vShape.reduce(1, *), from: left, tag: 2 * hop + 1))
            }
            holding = from
        }
        return comm.rank == 0 ? running : nil
    }
}
