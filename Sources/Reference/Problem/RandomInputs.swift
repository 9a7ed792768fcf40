import Dispatch

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

    /// Normal values drawn per second, assumed for the time estimate (optimistic: each takes 12 generator outputs).
    public static let normalsPerSecond = 2e8

    /// All three tensors.
    public func generate() throws -> [(name: String, data: TensorData)] {
        try generate(keyRange: 0..<keys)
    }

    /// q whole and the keys `keyRange` of k and v (axis 2), drawn from the same stream as `generate()`: the values
    /// outside the range are jumped over (`SeededGenerator.advance(by:)`), so time and memory are those of q and the
    /// shard, not of the whole stream. The time left (`TimeBudget.current`) is checked every 2^20 values: past the
    /// limit the generation ends in a one-line error.
    public func generate(keyRange: Range<Int>) throws -> [(name: String, data: TensorData)] {
        guard keyRange.lowerBound >= 0, keyRange.upperBound <= keys else {
            throw ReferenceError.invalidOption("key range \(keyRange) outside 0..<\(keys)")
        }
        let budget = TimeBudget.current
        // q and the shard are drawn: refused up front when they cannot be drawn in the time left.
        try checkTime(budget, keys: keyRange.count)
        var stream = NormalStream(generator: SeededGenerator(seed: seed), budget: budget)
        return try shapes.map { name, shape, s in
            var values = [Double]()
            guard name != "q" else {
                let count = shape.reduce(1, *)
                values.reserveCapacity(count)
                try stream.draw(count, std: s) { values += $0 }
                return (name, try TensorData(values: values, shape: shape, dtype: dtype))
            }
            let groups = shape[0] * shape[1], width = shape[3]
            values.reserveCapacity(groups * keyRange.count * width)
            for _ in 0..<(keys * width == 0 ? 0 : groups) {
                stream.skip(keyRange.lowerBound * width)
                try stream.draw(keyRange.count * width, std: s) { values += $0 }
                stream.skip((keys - keyRange.upperBound) * width)
            }
            var sliced = shape
            sliced[2] = keyRange.count
            return (name, try TensorData(values: values, shape: sliced, dtype: dtype))
        }
    }
}

extension RandomInputs {
    /// Values drawn per block (2^20: 8 MiB of f64): the unit of `write`'s streaming and of the deadline checks.
    public static let blockValues = 1 << 20

    /// Refuses, with one line, q and `keys` keys of k and v (all of them by default) that cannot be drawn in the time
    /// left of `budget`.
    func checkTime(_ budget: TimeBudget, keys: Int? = nil) throws {
        let stream = shapes.reduce(0.0) { total, tensor in
            var shape = tensor.shape
            if tensor.name != "q", let keys { shape[2] = keys }
            return total + shape.reduce(1.0) { $0 * Double($1) }
        }
        try budget.check(
            stream / Self.normalsPerSecond, for: "random-inputs",
            detail: String(format: "%.2g normal values at %.0fM/s", stream, Self.normalsPerSecond / 1e6))
    }
}

/// The normals of `RandomInputs`, drawn in blocks of `RandomInputs.blockValues` (the deadline checked as each is
/// handed on) or jumped over: what `generate` and `write` share.
struct NormalStream {
    /// The stream's generator.
    var generator: SeededGenerator
    /// The time limit checked after each block.
    let budget: TimeBudget
    /// Values drawn so far (jumped-over values are not counted: they cost nothing).
    var drawn = 0

    /// Draws `count` normals scaled by `std`, handing each block to `body` in order. Block i + 1 is drawn on a second
    /// thread while `body` handles block i (a write overlaps the next block's generation); each block continues the
    /// generator where the previous one ended, so the values are those of drawing one after another.
    mutating func draw(_ count: Int, std: Double, _ body: ([Double]) throws -> Void) throws {
        var left = count
        var block = Self.fill(&generator, min(left, RandomInputs.blockValues), std: std)
        while !block.isEmpty {
            left -= block.count
            drawn += block.count
            try budget.checkDeadline(for: "random-inputs", done: "\(drawn) normal values")
            let n = min(left, RandomInputs.blockValues), current = block
            var next: [Double] = [], failure: Error? = nil, g = generator
            DispatchQueue.concurrentPerform(iterations: n > 0 ? 2 : 1) { i in
                if i == 0 {
                    do { try body(current) } catch { failure = error }
                } else {
                    next = Self.fill(&g, n, std: std)
                }
            }
            if let failure { throw failure }
            generator = g
            block = next
        }
    }

    /// Jumps past `count` normals without computing them (O(1), `SeededGenerator.skipNormals`).
    mutating func skip(_ count: Int) { generator.skipNormals(count) }

    /// The next `n` normals of `generator`, scaled by `std` (drawn with a local copy of the generator: a stored one
    /// would be reached through memory in the loop).
    private static func fill(_ generator: inout SeededGenerator, _ n: Int, std: Double) -> [Double] {
        var g = generator
        defer { generator = g }
        return [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
            for i in 0..<n { buffer[i] = g.normal() * std }
            initialized = n
        }
    }
}
