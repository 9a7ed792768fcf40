/// A pipelined tree collective over k segments. Reduce: every rank receives each segment from its children (in
/// order, reducing after each), then sends it to its parent. Broadcast: every rank receives each segment from its
/// parent and sends it to its children. All-reduce runs both, the down pass on a second lane so it overlaps the up
/// pass (the root turns each reduced segment around at once).
///
/// Closed form, uncontended, g = 0, depth d: with `.afterDelivery` pacing, reduce or broadcast take
/// (d + k - 1)(a + n b/k) and all-reduce (2d + k - 1)(a + n b/k).
public struct TreeProgram: RankProgram {
    /// Which passes the program runs.
    public enum Kind: Sendable {
        /// Up to the root: every rank receives each segment from its children, reducing after each, then sends it to
        /// its parent.
        case reduce
        /// Down from the root: every rank receives each segment from its parent and sends it to its children.
        case broadcast
        /// Both passes, the down pass on a second lane so that it overlaps the up pass.
        case allReduce
    }

    /// The rank tree the segments travel along.
    public let tree: TreeShape
    /// Which passes run.
    public let kind: Kind
    /// Number of pipelined segments (at least 1).
    public let segments: Int
    /// Bytes per segment.
    public let segmentBytes: Double
    /// Compute time of each reduction of one received segment.
    public let reduceTime: SimTime

    /// A tree collective of `bytes` split into `segments` equal segments (at least 1), each reduction costed by
    /// `options`.
    public init(tree: TreeShape, kind: Kind, bytes: Double, segments: Int, options: CollectiveOptions) {
        self.tree = tree
        self.kind = kind
        self.segments = max(1, segments)
        segmentBytes = bytes / Double(self.segments)
        reduceTime = options.reduceTime(bytes / Double(self.segments))
    }

    public var ranks: Int { tree.ranks }

    private var up: Bool { kind != .broadcast }
    private var down: Bool { kind != .reduce }

    public func lanes(rank: Int) -> Int {
        if ranks <= 1 { return 0 }
        if rank == tree.root { return 1 }
        return up && down ? 2 : 1
    }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        let kids = tree.children[rank]
        let parent = tree.parent[rank]
        let isRoot = rank == tree.root
        // Which pass does this lane run?
        let runUp = up && lane == 0
        let runDown = down && (isRoot ? true : (up ? lane == 1 : lane == 0))
        var perSegment = 0
        let upOps = runUp ? 2 * kids.count + (parent >= 0 ? 1 : 0) : 0
        let downOps = runDown ? (parent >= 0 ? 1 : 0) + kids.count : 0
        perSegment = (isRoot ? upOps + downOps : (runUp ? upOps : downOps))
        guard perSegment > 0 else { return nil }
        let s = step / perSegment
        guard s < segments else { return nil }
        var k = step % perSegment
        let upTag = Int64(2 * s), downTag = Int64(2 * s + 1)
        if runUp && (isRoot || lane == 0) {
            if k < 2 * kids.count {
                return k % 2 == 0 ? .recv(from: kids[k / 2], tag: upTag) : .compute(reduceTime, label: "reduce")
            }
            k -= 2 * kids.count
            if parent >= 0 {
                if k == 0 { return .send(to: parent, bytes: segmentBytes, tag: upTag, channel: 0) }
                k -= 1
            }
            if !isRoot || !runDown { return nil }
        }
        // Down pass.
        if parent >= 0 {
            if k == 0 { return .recv(from: parent, tag: downTag) }
            k -= 1
        }
        return .send(to: kids[k], bytes: segmentBytes, tag: downTag, channel: 0)
    }
}
