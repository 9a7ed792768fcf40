/// Seeded random Q, K and V (bhsd): one `SeededGenerator` stream, q then k then v, each element a normal scaled by
/// `std` (v by 1), rounded once to `dtype`. Same seed, same bytes on every machine: what `treeattn random-inputs`
/// writes, and what each rank of `treeattn-mpi attention --random` generates for its own key shard.
public struct RandomInputs: Equatable, Sendable {
    /// Batch size.
    public var batch: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (the init takes nil as `heads`).
    public var kvHeads: Int
    /// Queries per head (seq_q).
    public var queries: Int
    /// Keys per head (seq_k).
    public var keys: Int
    /// Dimension of queries and keys.
    public var headDim: Int
    /// Dimension of values (the init takes nil as `headDim`).
    public var valueDim: Int
    /// Standard deviation of q and k entries (v uses 1).
    public var std: Double
    /// Seed of the `SeededGenerator` stream.
    public var seed: UInt64
    /// The dtype every value is rounded to, once.
    public var dtype: DType

    /// Inputs of the given sizes; nil `kvHeads` means `heads`, nil `valueDim` means `headDim`. Not validated.
    public init(
        batch: Int, heads: Int, kvHeads: Int? = nil, queries: Int, keys: Int, headDim: Int, valueDim: Int? = nil,
        std: Double = 1, seed: UInt64 = 0, dtype: DType = .f64
    ) {
        self.batch = batch
        self.heads = heads
        self.kvHeads = kvHeads ?? heads
        self.queries = queries
        self.keys = keys
        self.headDim = headDim
        self.valueDim = valueDim ?? headDim
        self.std = std
        self.seed = seed
        self.dtype = dtype
    }

    /// The shapes of q, k and v (bhsd) and the standard deviation of each.
    public var shapes: [(name: String, shape: [Int], std: Double)] {
        [
            ("q", [batch, heads, queries, headDim], std), ("k", [batch, kvHeads, keys, headDim], std),
            ("v", [batch, kvHeads, keys, valueDim], 1.0),
        ]
    }

    /// All three tensors.
    public func generate() throws -> [(name: String, data: TensorData)] {
        try generate(keyRange: 0..<keys)
    }

    /// q whole and the keys `keyRange` of k and v (axis 2), drawn from the same stream as `generate()`: the values
    /// outside the range are drawn and dropped (the generator has no skip-ahead), so the time is that of the whole
    /// stream while the memory is that of the shard.
    public func generate(keyRange: Range<Int>) throws -> [(name: String, data: TensorData)] {
        guard keyRange.lowerBound >= 0, keyRange.upperBound <= keys else {
            throw ReferenceError.invalidOption("key range \(keyRange) outside 0..<\(keys)")
        }
        var g = SeededGenerator(seed: seed)
        return try shapes.map { name, shape, s in
            guard name != "q" else {
                return (name, try TensorData(values: g.normals(shape.reduce(1, *), std: s), shape: shape, dtype: dtype))
            }
            let groups = shape[0] * shape[1], width = shape[3]
            var values = [Double]()
            values.reserveCapacity(groups * keyRange.count * width)
            for _ in 0..<groups {
                g.skipNormals(keyRange.lowerBound * width)
                for _ in 0..<keyRange.count * width { values.append(g.normal() * s) }
                g.skipNormals((keys - keyRange.upperBound) * width)
            }
            var sliced = shape
            sliced[2] = keyRange.count
            return (name, try TensorData(values: values, shape: sliced, dtype: dtype))
        }
    }
}

extension SeededGenerator {
    /// Advances the stream past `count` normals (12 outputs each) without computing them.
    public mutating func skipNormals(_ count: Int) {
        for _ in 0..<count * 12 { _ = next() }
    }
}
