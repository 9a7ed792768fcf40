/// `tree-reduce[:SHAPE]` (default binary): each rank computes its flash-decode partial; the partials (b d + b n_h)
/// are merged up a pinned `ReductionPlan` by point-to-point messages, a node living on the rank of its first child,
/// which receives the other children's partials in order and merges them. The result is on rank 0 (a reduce, as
/// `treeattn-mpi attention --reduction binary` runs it). Uncontended, a binary tree over p ranks takes
/// T_local + ceil(log2 p) (a + S b + T_merge(2)).
struct TreeReduceDecode: DecodeProgram {
    var shape: ReductionPlan.Shape

    func build(_ c: DecodeContext) throws -> DecodePhases {
        let w = c.workload, p = c.ranks, roof = c.roofline
        let plan = try ReductionPlan(leaves: p, shape: shape)
        var ops: [[RankOperation]] = (0..<p).map { [c.flashDecode(rank: $0)] }
        var owners = Array(0..<p)
        for (level, nodes) in plan.levels.enumerated().dropFirst() {
            var next: [Int] = []
            for children in nodes {
                let owner = owners[children[0]]
                next.append(owner)
                guard children.count > 1 else { continue }
                for child in children.dropFirst() {
                    ops[owners[child]].append(.send(to: owner, bytes: c.partialBytes, tag: Int64(level)))
                    ops[owner].append(.recv(from: owners[child], tag: Int64(level)))
                }
                ops[owner].append(.compute(roof.merge(partials: children.count, w), label: "merge"))
            }
            owners = next
        }
        return DecodePhases(phases: [ListProgram(singleLane: ops)], sentElementBytes: Double(w.partialElementBytes))
    }

    /// Stored K/V, q, output and statistics, plus the children's partials received at the widest node.
    func peakMemory(_ c: DecodeContext) -> (elements: Double, bytes: Double) {
        let w = c.workload
        let b = Double(w.batch), d = Double(w.modelDim), nh = Double(w.heads), dOut = Double(w.outputDim)
        let fanIn: Double
        switch shape {
        case .binary: fanIn = 1
        case .kary(let k): fanIn = Double(k - 1)
        case .twoLevel(let g): fanIn = Double(max(g, (c.ranks + g - 1) / g) - 1)
        case .flat: fanIn = Double(c.ranks - 1)
        }
        let kv = w.kvElements(tokens: c.tokens.max() ?? 0)
        let received = fanIn * w.partialElements
        return (
            kv + b * (d + dOut) + 2 * b * nh + received,
            (kv + b * d) * Double(w.elementBytes) + (b * dOut + 2 * b * nh + received) * Double(w.partialElementBytes)
        )
    }

    func backward() throws -> DecodeBackwardProgram {
        throw SimulatorError.noBackward(
            DecodeStrategy.treeReduce(shape).description,
            "its output is on rank 0 only: a backward would first broadcast dO, LSE and D back down the tree")
    }
}
