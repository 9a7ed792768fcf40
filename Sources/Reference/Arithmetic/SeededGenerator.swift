/// A portable, seeded random source: xoshiro256** seeded through SplitMix64, integer arithmetic only, so the same
/// seed gives the same numbers on every machine. Normals use the Irwin-Hall sum of 12 uniforms (mean 0, variance 1,
/// no libm calls, so no platform-dependent rounding).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// xoshiro256**'s four words (internal: `advance(by:)` maps them through the jump matrices).
    var state: (UInt64, UInt64, UInt64, UInt64)

    /// The stream of `seed`: xoshiro256**'s state filled with four SplitMix64 outputs of it.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The next 64-bit xoshiro256** output.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits. (Converted as a signed integer: the same exact value, below 2^53, in one
    /// instruction, where an unsigned 64-bit conversion takes several on x86-64.)
    @inline(__always)
    public mutating func uniform() -> Double { Double(Int64(bitPattern: next() >> 11)) * 0x1p-53 }

    /// Approximately standard normal (Irwin-Hall, 12 uniforms).
    public mutating func normal() -> Double {
        var s = 0.0
        for _ in 0..<12 { s += uniform() }
        return s - 6
    }

    /// `count` normals scaled by `std`.
    public mutating func normals(_ count: Int, std: Double = 1) -> [Double] {
        (0..<count).map { _ in normal() * std }
    }
}

extension SeededGenerator {
    /// The first output for seed 42 (xoshiro256** after SplitMix64), computed independently; pins the algorithm.
    static let pinnedFirstOutputOfSeed42: UInt64 = 0x1578_0b2e_0c2e_c716
}
