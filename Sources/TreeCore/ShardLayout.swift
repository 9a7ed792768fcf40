/// A partition of the key axis [0, Sk) into p contiguous shards, one per device. Shards may be empty (p > Sk):
/// an empty shard contributes the merge identity (0, -inf).
public struct ShardLayout: Equatable, Sendable {
    /// Key range of each shard, in device order, covering [0, keys) without gaps.
    public let ranges: [Range<Int>]

    /// Even split: sizes differ by at most one, the first (keys mod p) shards get the extra key.
    public init(keys: Int, shards p: Int) throws {
        guard p >= 1 else { throw CoreError.invalidOption("number of shards must be >= 1, got \(p)") }
        guard keys >= 0 else { throw CoreError.invalidOption("number of keys must be >= 0, got \(keys)") }
        let base = keys / p, extra = keys % p
        var start = 0
        var ranges: [Range<Int>] = []
        for i in 0..<p {
            let size = base + (i < extra ? 1 : 0)
            ranges.append(start..<start + size)
            start += size
        }
        self.ranges = ranges
    }

    /// Explicit (possibly uneven or empty) shard sizes.
    public init(sizes: [Int]) throws {
        guard !sizes.isEmpty else { throw CoreError.invalidOption("shard sizes must not be empty") }
        if let bad = sizes.first(where: { $0 < 0 }) {
            throw CoreError.invalidOption("shard sizes must be >= 0, got \(bad)")
        }
        var start = 0
        ranges = sizes.map { size in
            defer { start += size }
            return start..<start + size
        }
    }

    /// Number of shards p (one per device), empty shards included.
    public var count: Int { ranges.count }
    /// Total number of keys Sk covered by the shards (0 when all are empty).
    public var keys: Int { ranges.last?.upperBound ?? 0 }
}
