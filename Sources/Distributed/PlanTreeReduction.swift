import Reference

/// A pinned `ReductionPlan` (binary, flat, or two-level by host) by point-to-point messages. Leaf i is rank i; a node
/// lives on the rank of its first child, which receives the other children's partials (MPI_Recv, in child order) and
/// merges them with `MergeOperator.merge`, exactly as `TreeReduction.reduce` does in one process: the root on rank 0
/// has the same bits as `treeattn attention --shards P --reduction SHAPE`.
struct PlanTreeReduction: RankReduction {
    /// The plan's shape; nil: two-level with one group per host (`Communicator.hostGroupSize`).
    var shape: ReductionPlan.Shape?

    func run<S: MPIScalar>(
        _ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog
    ) throws -> AttentionPartial<S>? {
        let plan = try ReductionPlan(
            leaves: comm.size, shape: try shape ?? .twoLevel(groupSize: comm.hostGroupSize()))
        var mine: AttentionPartial<S>? = try log.time("local attention", comm) { try shard.localPartial() }
        let count = mine!.output.count + mine!.rows
        var owners = Array(0..<comm.size)  // rank holding each node of the previous level
        for (level, nodes) in plan.levels.enumerated().dropFirst() {
            var next: [Int] = []
            try log.time("tree level \(level)", comm) {
                for children in nodes {
                    let owner = owners[children[0]]
                    next.append(owner)
                    guard children.count > 1 else { continue }
                    if comm.rank == owner {
                        var parts = [mine!]
                        for child in children.dropFirst() {
                            let received: [S] = try comm.receive(count, from: owners[child], tag: level)
                            parts.append(try AttentionPartial(packed: received, like: mine!))
                        }
                        mine = try MergeOperator.merge(parts)
                    } else if children.dropFirst().contains(where: { owners[$0] == comm.rank }) {
                        try comm.send(mine!.packed, to: owner, tag: level)
                        mine = nil
                    }
                }
            }
            owners = next
        }
        return comm.rank == 0 ? mine : nil
    }
}
