import Reference

/// How the ranks' partials become one result on rank 0, each an MPI program in its own file; registered in
/// `program` (an exhaustive switch: a new case without its file does not compile).
public enum DistributedReduction: String, CaseIterable, Sendable {
    /// The paper's Algorithm 3: all-reduce MAX of the LSEs, then SUM of the numerators and of the denominators.
    case algorithm3
    /// The merge operator as a user-defined `MPI_Op` over packed (o, lse) records, one `MPI_Allreduce`.
    case mergeOp = "merge-op"
    /// The pinned binary tree of `ReductionPlan` by point-to-point messages: bit-identical to
    /// `treeattn attention --shards P --reduction binary`.
    case binary
    /// One n-ary merge on rank 0 of every rank's partial (the flat `ReductionPlan`): bit-identical to
    /// `treeattn attention --shards P --reduction flat`.
    case flat
    /// Topology-aware: one merge per host (the ranks `MPI_Comm_split_type` finds sharing memory, which must hold
    /// equal numbers of consecutive ranks), then one merge of the hosts' results on rank 0: bit-identical to
    /// `treeattn attention --shards P --reduction two-level:G` with G ranks per host.
    case twoLevel = "two-level"
    /// Ring Attention: K/V shards passed with `MPI_Sendrecv` over p-1 hops, every rank folding each block.
    case ring
    /// Partials passed along the chain p-1 -> ... -> 0, each rank merging what it receives with its own.
    case passPartials = "pass-partials"

    /// The MPI program that runs this reduction on every rank.
    public var program: any RankReduction {
        switch self {
        case .algorithm3: return Algorithm3Reduction()
        case .mergeOp: return MergeOpReduction()
        case .binary: return PlanTreeReduction(shape: .binary)
        case .flat: return PlanTreeReduction(shape: .flat)
        case .twoLevel: return PlanTreeReduction(shape: nil)
        case .ring: return RingReduction()
        case .passPartials: return PassPartialsReduction()
        }
    }

    /// The single-process reduction that gives the same result (`binary`, `flat`, `two-level` and `ring`: the same
    /// bits), with `groupSize` ranks per host.
    public func singleProcess(groupSize: Int) -> Reduction {
        switch self {
        case .algorithm3, .mergeOp, .passPartials: return .algorithm3
        case .binary: return .tree(.binary)
        case .flat: return .tree(.flat)
        case .twoLevel: return .tree(.twoLevel(groupSize: groupSize))
        case .ring: return .ring
        }
    }
}

/// One distributed reduction: computes this rank's share (its local attention included) and returns the result on
/// rank 0 (nil on the other ranks). Phases are timed into `log`.
public protocol RankReduction {
    /// Runs the reduction on this rank (every rank must call it): the merged partial on rank 0, nil on the others.
    /// Throws `DistributedError` when an MPI call fails.
    func run<S: MPIScalar>(
        _ shard: RankShard<S>, comm: Communicator, log: inout PhaseLog
    ) throws -> AttentionPartial<S>?
}
