import Reference

/// `pass-partials`: partials pass along the chain p-1 -> p-2 -> ... -> 0; each rank merges the partial it receives
/// (the keys after its own) with its own (`MergeOperator.merge([own, received])`) and passes the result on. Rank 0
/// ends with the result after p-1 sequential hops (the simulator's `pass-partials`, mirrored so the result lands on
/// the rank that writes it).
struct PassPartialsReduction: RankReduction {
    func run<S: MPIScalar>(
        _ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog
    ) throws -> AttentionPartial<S>? {
        var mine = try log.time("local attention", comm) { try shard.localPartial() }
        let count = mine.output.count + mine.rows
        try log.time("chain", comm) {
            if comm.rank < comm.size - 1 {
                let received: [S] = try comm.receive(count, from: comm.rank + 1, tag: 1)
                mine = try MergeOperator.merge([mine, try AttentionPartial(packed: received, like: mine)])
            }
            if comm.rank > 0 { try comm.send(mine.packed, to: comm.rank - 1, tag: 1) }
        }
        return comm.rank == 0 ? mine : nil
    }
}
