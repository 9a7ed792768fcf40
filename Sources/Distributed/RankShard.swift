import Reference

/// What one rank holds: every query, and K/V of its own key shard only (`layout.ranges[rank]` of the `layout.keys`
/// keys). Masks, causality, windows, ALiBi and cache lengths use global key positions, so the rank's partial is the
/// single-process shard partial bit for bit.
public struct RankShard<S: MPIScalar>: Sendable {
    /// q (B, Hq, Sq, D) whole; k and v hold this rank's keys only.
    public let inputs: AttentionInputs<S>
    /// The key shards of all ranks (rank i holds `ranges[i]`).
    public let layout: ShardLayout
    /// This rank's index, 0 ..< `layout.count`.
    public let rank: Int
    /// The attention options (masks, causality, window, ALiBi, cache lengths), in global key positions.
    public let options: AttentionOptions

    /// A rank's shard; throws `DistributedError.invalid` when `rank` is not a shard of `layout` or `inputs` does
    /// not hold exactly that shard's keys.
    public init(inputs: AttentionInputs<S>, layout: ShardLayout, rank: Int, options: AttentionOptions) throws {
        guard (0..<layout.count).contains(rank) else {
            throw DistributedError.invalid("rank \(rank) outside the \(layout.count) shards")
        }
        guard inputs.keys == layout.ranges[rank].count else {
            throw DistributedError.invalid(
                "rank \(rank) holds \(inputs.keys) keys but its shard is \(layout.ranges[rank])")
        }
        self.inputs = inputs
        self.layout = layout
        self.rank = rank
        self.options = options
    }

    /// This rank's keys, as global positions in [0, `layout.keys`).
    public var keyRange: Range<Int> { layout.ranges[rank] }

    /// This rank's partial (O_i, LSE_i) over its own keys.
    public func localPartial() throws -> AttentionPartial<S> {
        try ExactAttention.forward(
            shard: inputs, keyOffset: keyRange.lowerBound, totalKeys: layout.keys, options: options)
    }

    /// The partial of every query against another shard's K/V block (ring attention), keys `range`.
    public func partial(k: Tensor<S>, v: Tensor<S>, range: Range<Int>) throws -> AttentionPartial<S> {
        let block = try AttentionInputs(q: inputs.q, k: k, v: v)
        return try ExactAttention.forward(
            shard: block, keyOffset: range.lowerBound, totalKeys: layout.keys, options: options)
    }

    /// An empty partial of the result's shape.
    public var emptyPartial: AttentionPartial<S> {
        .empty(batch: inputs.batch, heads: inputs.queryHeads, queries: inputs.queries, valueDim: inputs.valueDim)
    }
}

extension AttentionPartial where Scalar: MPIScalar {
    /// Output then LSE, one flat buffer (what travels between ranks).
    var packed: [Scalar] { output.data + lse.data }

    /// The inverse of `packed` for a partial shaped like `like`.
    init(packed: [Scalar], like: AttentionPartial<Scalar>) throws {
        let n = like.output.count
        try self.init(
            output: Tensor(shape: like.output.shape, data: Array(packed[..<n])),
            lse: Tensor(shape: like.lse.shape, data: Array(packed[n...])))
    }
}

/// Wall time and bytes of each phase of one run on one rank, in the order they ran.
public struct PhaseLog: Sendable {
    /// One timed phase.
    public struct Entry: Sendable {
        /// The phase's name, e.g. "local attention", "tree level 1".
        public let name: String
        /// Wall seconds the phase took (`MPI_Wtime`).
        public let seconds: Double
        /// Bytes this rank handed to MPI send calls during the phase (`Communicator.bytesSent`).
        public let bytesSent: Int
    }
    /// The phases in the order they ran.
    public private(set) var entries: [Entry] = []

    /// An empty log.
    public init() {}

    /// Times `body` as phase `name` with `MPI_Wtime`, counting the bytes `comm` sends meanwhile.
    public mutating func time<T>(_ name: String, _ comm: Communicator, _ body: () throws -> T) rethrows -> T {
        let sentBefore = comm.bytesSent
        let start = Communicator.time
        let value = try body()
        entries.append(Entry(name: name, seconds: Communicator.time - start, bytesSent: comm.bytesSent - sentBefore))
        return value
    }

    /// Wall seconds of all phases together.
    public var total: Double { entries.reduce(0) { $0 + $1.seconds } }
}
