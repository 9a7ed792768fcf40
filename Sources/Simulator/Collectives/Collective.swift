import TreeCore

/// One collective call: operation, algorithm, size and options. `phases(ranks:servers:)` compiles it to rank
/// programs for the event simulator; `run(on:)` simulates it (or evaluates the NCCL model) on a cluster.
public struct Collective: Sendable {
    /// The collective operation (all-reduce, all-gather, reduce-scatter or broadcast).
    public var operation: CollectiveOperation
    /// How the collective is carried out: an event-simulated algorithm, or the NCCL model.
    public var algorithm: CollectiveAlgorithm
    /// Size in bytes (nccl-tests convention, see `CollectiveOperation`).
    public var bytes: Double
    /// Reduction cost, segmentation, pacing and per-call overhead.
    public var options: CollectiveOptions

    /// A collective of `bytes` bytes. Throws `SimulatorError.invalidArgument` when `bytes` is negative or not finite;
    /// whether the algorithm implements the operation is checked when it is compiled or run.
    public init(
        _ operation: CollectiveOperation, algorithm: CollectiveAlgorithm, bytes: Double,
        options: CollectiveOptions = CollectiveOptions()
    ) throws {
        guard bytes.isFinite, bytes >= 0 else {
            throw SimulatorError.invalidArgument("bytes must be >= 0, got \(bytes)")
        }
        self.operation = operation
        self.algorithm = algorithm
        self.bytes = bytes
        self.options = options
    }

    /// Rank programs (run one after another on each rank) for p ranks grouped into servers (`serverGroups`, used
    /// by the hierarchical algorithm). Throws `unsupported` for combinations this simulator does not implement.
    public func phases(ranks p: Int, serverGroups: [[Int]]) throws -> [RankProgram] {
        guard p >= 1 else { throw SimulatorError.invalidArgument("a collective needs at least one rank") }
        if options.segments != nil && !Self.pipelines(algorithm) {
            throw SimulatorError.unsupported(
                "segments apply to pipelined algorithms (tree, chain, double-binary-tree, plan:*, "
                    + "hierarchical with one of them inside), not to '\(algorithm)'")
        }
        var result: [RankProgram] = []
        if options.callOverhead.picoseconds > 0 {
            result.append(
                ListProgram(
                    singleLane: Array(repeating: [.overhead(options.callOverhead, label: "collective call")], count: p))
            )
        }
        result.append(contentsOf: try body(ranks: p, serverGroups: serverGroups))
        return result
    }

    /// Whether the algorithm splits its message into pipelined segments (so `segments` means something).
    static func pipelines(_ algorithm: CollectiveAlgorithm) -> Bool {
        switch algorithm {
        case .tree, .chain, .doubleBinaryTree, .plan, .nvls: return true
        case .hierarchical(let inner): return pipelines(inner)
        case .ring, .recursiveDoubling, .rabenseifner, .binomial, .nccl: return false
        }
    }

    private func unsupported() -> SimulatorError {
        .unsupported(
            "algorithm '\(algorithm)' does not implement \(operation) (see `treeattn simulate collective --help`)")
    }

    private func body(ranks p: Int, serverGroups: [[Int]]) throws -> [RankProgram] {
        let n = bytes, o = options
        switch (operation, algorithm) {
        case (_, .nccl):
            throw SimulatorError.unsupported("the NCCL model is closed-form; use Collective.run(on:) instead of phases")
        case (.allreduce, .nvls), (.reducescatter, .nvls), (.allgather, .nvls):
            guard serverGroups.count <= 1 else {
                throw SimulatorError.unsupported(
                    "nvls reduces in one server's NVSwitch; these ranks span \(serverGroups.count) servers "
                        + "(nccl-nvls-tree is NCCL's model across servers)")
            }
            let kind: NVLSProgram.Kind =
                operation == .allreduce ? .allReduce : operation == .reducescatter ? .reduceScatter : .allGather
            return [try NVLSProgram(kind, ranks: p, bytes: n, segments: try o.segmentCount(bytes: n / Double(p)))]
        case (.allreduce, .ring):
            return [RingProgram.allReduce(ranks: p, bytes: n, options: o)]
        case (.reducescatter, .ring):
            return [
                RingProgram(
                    ranks: p, chunkBytes: n / Double(p), reduceSteps: p - 1, gatherSteps: 0,
                    reduceTime: o.reduceTime(n / Double(p)))
            ]
        case (.allgather, .ring):
            return [
                RingProgram(ranks: p, chunkBytes: n / Double(p), reduceSteps: 0, gatherSteps: p - 1, reduceTime: .zero)
            ]
        case (.allreduce, .tree):
            return [
                TreeProgram(
                    tree: .ncclBinaryTree(ranks: p), kind: .allReduce, bytes: n, segments: try o.segmentCount(bytes: n),
                    options: o)
            ]
        case (.broadcast, .tree):
            return [
                TreeProgram(
                    tree: .ncclBinaryTree(ranks: p), kind: .broadcast, bytes: n, segments: try o.segmentCount(bytes: n),
                    options: o)
            ]
        case (.broadcast, .chain):
            return [
                TreeProgram(
                    tree: .chain(ranks: p), kind: .broadcast, bytes: n, segments: try o.segmentCount(bytes: n),
                    options: o)
            ]
        case (.allreduce, .doubleBinaryTree):
            let half = n / 2, k = try o.segmentCount(bytes: half)
            return [
                ParallelProgram([
                    TreeProgram(
                        tree: .ncclBinaryTree(ranks: p), kind: .allReduce, bytes: half, segments: k, options: o),
                    TreeProgram(
                        tree: .ncclSecondTree(ranks: p), kind: .allReduce, bytes: half, segments: k, options: o),
                ])
            ]
        case (.allreduce, .recursiveDoubling):
            return [try RecursiveProgram.doublingAllReduce(ranks: p, bytes: n, options: o)]
        case (.allgather, .recursiveDoubling):
            return [try RecursiveProgram.doublingAllGather(ranks: p, bytes: n)]
        case (.reducescatter, .recursiveDoubling), (.reducescatter, .rabenseifner):
            return [try RecursiveProgram.halvingReduceScatter(ranks: p, bytes: n, options: o)]
        case (.allreduce, .rabenseifner):
            return [try RecursiveProgram.rabenseifner(ranks: p, bytes: n, options: o)]
        case (.broadcast, .binomial):
            return [RecursiveProgram.binomialBroadcast(ranks: p, bytes: n)]
        case (.allreduce, .plan(let shape)), (.broadcast, .plan(let shape)):
            let plan: ReductionPlanTree
            do { plan = try ReductionPlanTree(leaves: p, shape: shape) } catch {
                throw SimulatorError.invalidArgument("\(error)")
            }
            return [
                TreeProgram(
                    tree: plan.tree, kind: operation == .allreduce ? .allReduce : .broadcast, bytes: n,
                    segments: try o.segmentCount(bytes: n), options: o)
            ]
        case (.allreduce, .hierarchical(let inter)):
            let sizes = Set(serverGroups.map(\.count))
            guard sizes.count == 1, let g = sizes.first, serverGroups.reduce(0, { $0 + $1.count }) == p else {
                throw SimulatorError.unsupported(
                    "hierarchical all-reduce needs the same number of GPUs on every server (got \(serverGroups.map(\.count)))"
                )
            }
            let servers = serverGroups.count
            let crossGroups = (0..<g).map { i in serverGroups.map { $0[i] } }
            let shard = n / Double(g)
            let inner = try Collective(
                .allreduce, algorithm: inter, bytes: shard,
                options: CollectiveOptions(
                    reductionSecondsPerByte: o.reductionSecondsPerByte, segments: o.segments,
                    segmentBytes: o.segmentBytes,
                    pacing: o.pacing))
            return [
                try GroupedProgram(ranks: p, groups: serverGroups) { size in
                    RingProgram(
                        ranks: size, chunkBytes: n / Double(size), reduceSteps: size - 1, gatherSteps: 0,
                        reduceTime: o.reduceTime(n / Double(size)))
                },
                try GroupedProgram(ranks: p, groups: servers > 1 ? crossGroups : []) { size in
                    let phases = try inner.body(ranks: size, serverGroups: [Array(0..<size)])
                    guard phases.count == 1 else {
                        throw SimulatorError.unsupported("nested multi-phase inner algorithm")
                    }
                    return phases[0]
                },
                try GroupedProgram(ranks: p, groups: serverGroups) { size in
                    RingProgram(
                        ranks: size, chunkBytes: n / Double(size), reduceSteps: 0, gatherSteps: size - 1,
                        reduceTime: .zero)
                },
            ]
        case (.allgather, .tree), (.reducescatter, .tree), (.allgather, .chain), (.reducescatter, .chain),
            (.allreduce, .chain), (.broadcast, .ring), (.allgather, .doubleBinaryTree),
            (.reducescatter, .doubleBinaryTree),
            (.broadcast, .doubleBinaryTree), (.broadcast, .recursiveDoubling), (.allgather, .rabenseifner),
            (.broadcast, .rabenseifner), (.allreduce, .binomial), (.allgather, .binomial), (.reducescatter, .binomial),
            (.allgather, .plan), (.reducescatter, .plan), (.allgather, .hierarchical), (.reducescatter, .hierarchical),
            (.broadcast, .hierarchical), (.broadcast, .nvls):
            throw unsupported()
        }
    }
}

/// A Reference `ReductionPlan` and the rank tree it induces.
struct ReductionPlanTree {
    let plan: ReductionPlan
    let tree: TreeShape
    init(leaves: Int, shape: ReductionPlan.Shape) throws {
        plan = try ReductionPlan(leaves: leaves, shape: shape)
        tree = TreeShape.plan(plan)
    }
}
