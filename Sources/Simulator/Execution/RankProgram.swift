/// A parallel program in rank space: each rank runs one or more lanes (concurrent processes), each a sequence of
/// `RankOperation`s produced on demand (so a 4096-rank ring never materialises its millions of steps).
public protocol RankProgram {
    /// Number of ranks the program is written for.
    var ranks: Int { get }
    /// Concurrent lanes on a rank (default 1).
    func lanes(rank: Int) -> Int
    /// The `step`-th operation of a lane, or nil when the lane is done.
    func operation(rank: Int, lane: Int, step: Int) -> RankOperation?
}

extension RankProgram {
    public func lanes(rank: Int) -> Int { 1 }
}

/// A program given as explicit operation lists: `operations[rank][lane]`.
public struct ListProgram: RankProgram {
    /// The operations of every lane of every rank: `operations[rank][lane][step]`.
    public var operations: [[[RankOperation]]]

    /// A program running `operations[rank][lane]` on each lane of each rank.
    public init(operations: [[[RankOperation]]]) { self.operations = operations }

    /// One lane per rank.
    public init(singleLane: [[RankOperation]]) { operations = singleLane.map { [$0] } }

    public var ranks: Int { operations.count }
    public func lanes(rank: Int) -> Int { operations[rank].count }
    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        let ops = operations[rank][lane]
        return step < ops.count ? ops[step] : nil
    }
}

/// Several programs over the same ranks running concurrently, each on its own lanes, tags and channels.
public struct ParallelProgram: RankProgram {
    /// The programs run side by side. Part i's lanes follow those of the parts before it, and its tags and
    /// channels are renumbered to `tag * parts.count + i` (`channel` likewise), so no part matches another's messages.
    public var parts: [RankProgram]

    /// Runs `parts` concurrently; they must be written for the same ranks (`ranks` is the first part's).
    public init(_ parts: [RankProgram]) { self.parts = parts }

    public var ranks: Int { parts.first?.ranks ?? 0 }

    public func lanes(rank: Int) -> Int { parts.reduce(0) { $0 + $1.lanes(rank: rank) } }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        var lane = lane
        let m = Int64(parts.count)
        for (i, part) in parts.enumerated() {
            let n = part.lanes(rank: rank)
            if lane < n {
                switch part.operation(rank: rank, lane: lane, step: step) {
                case .send(let to, let bytes, let tag, let channel)?:
                    return .send(to: to, bytes: bytes, tag: tag * m + Int64(i), channel: channel * Int32(m) + Int32(i))
                case .recv(let from, let tag)?:
                    return .recv(from: from, tag: tag * m + Int64(i))
                case .switchFlow(var flow)?:
                    flow.tag = flow.tag * m + Int64(i)
                    flow.channel = flow.channel * Int32(m) + Int32(i)
                    return .switchFlow(flow)
                case let other:
                    return other
                }
            }
            lane -= n
        }
        return nil
    }
}

/// The same kind of program run independently inside disjoint groups of ranks (e.g. within each server, or across
/// servers among GPUs with the same local index). Ranks in no group do nothing.
public struct GroupedProgram: RankProgram {
    public let ranks: Int
    /// The global ranks of each group, in local rank order: local rank i of group g is `groups[g][i]`.
    public let groups: [[Int]]
    /// The program each group runs, one per group (groups of the same size share one).
    public let programs: [RankProgram]
    private let groupOf: [Int]
    private let localIndex: [Int]

    /// `make(groupSize)` builds the program run inside each group (local ranks 0..<groupSize).
    public init(ranks: Int, groups: [[Int]], make: (Int) throws -> RankProgram) throws {
        self.ranks = ranks
        self.groups = groups
        var groupOf = [Int](repeating: -1, count: ranks), localIndex = groupOf
        for (g, members) in groups.enumerated() {
            for (i, r) in members.enumerated() {
                guard r >= 0 && r < ranks, groupOf[r] == -1 else {
                    throw SimulatorError.invalidArgument("groups must be disjoint ranks in 0..<\(ranks)")
                }
                groupOf[r] = g
                localIndex[r] = i
            }
        }
        self.groupOf = groupOf
        self.localIndex = localIndex
        var cache: [Int: RankProgram] = [:]
        programs = try groups.map { members in
            if let p = cache[members.count] { return p }
            let p = try make(members.count)
            cache[members.count] = p
            return p
        }
    }

    public func lanes(rank: Int) -> Int {
        let g = groupOf[rank]
        return g < 0 ? 0 : programs[g].lanes(rank: localIndex[rank])
    }

    public func operation(rank: Int, lane: Int, step: Int) -> RankOperation? {
        let g = groupOf[rank]
        guard g >= 0 else { return nil }
        let members = groups[g]
        switch programs[g].operation(rank: localIndex[rank], lane: lane, step: step) {
        case .send(let to, let bytes, let tag, let channel)?:
            return .send(to: members[to], bytes: bytes, tag: tag, channel: channel)
        case .recv(let from, let tag)?:
            return .recv(from: members[from], tag: tag)
        case .switchFlow(let flow)?:
            return .switchFlow(flow.mapRanks { members[$0] })
        case let other:
            return other
        }
    }
}
