import Testing

@testable import Reference

/// Issue 29, part 2: the generator's jump-ahead lands exactly where stepping does.
struct GeneratorJumpTests {
    /// xoshiro256**'s published jump (2^128 steps) as its authors' reference code applies it: the polynomial's bits
    /// pick which states along the next 256 steps are XORed together.
    static func publishedJump(_ g: inout SeededGenerator) {
        let jump: [UInt64] = [
            0x180e_c6d3_3cfd_0aba, 0xd5a6_1266_f0c9_392c, 0xa958_2618_e03f_c9aa, 0x39ab_dc45_29b1_661c,
        ]
        var s: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for word in jump {
            for b in 0..<64 {
                if word >> UInt64(b) & 1 == 1 {
                    s.0 ^= g.state.0
                    s.1 ^= g.state.1
                    s.2 ^= g.state.2
                    s.3 ^= g.state.3
                }
                _ = g.next()
            }
        }
        g.state = s
    }

    @Test func advanceEqualsStepping() {
        var r = SeededGenerator(seed: 77)
        let counts: [UInt64] =
            [0, 1, 2, 3, 63, 64, 65, 255, 256, 257, 1000, 12 * 1000 + 5] + (0..<6).map { _ in r.next() % 200_000 }
        for n in counts {
            var stepped = SeededGenerator(seed: 5), jumped = stepped
            for _ in 0..<n { _ = stepped.next() }
            jumped.advance(by: n)
            #expect(jumped.next() == stepped.next(), "n = \(n)")
            #expect(jumped.next() == stepped.next(), "n = \(n)")
        }
    }

    @Test func jumpsCompose() {
        // Far jumps (no stepping oracle): a + b in one jump equals a then b, in either order.
        for (a, b): (UInt64, UInt64) in [(1 << 40 + 12345, 1 << 62), (3, UInt64.max - 3), (999_999_999_937, 1 << 33)] {
            var one = SeededGenerator(seed: 11), two = one, three = one
            one.advance(by: a &+ b)
            two.advance(by: a)
            two.advance(by: b)
            three.advance(by: b)
            three.advance(by: a)
            let x = one.next()
            #expect(two.next() == x && three.next() == x)
        }
    }

    @Test func matricesMatchThePublishedJumpPolynomial() {
        // T^(2^128) by squaring T^(2^63) 65 times, against the authors' jump() polynomial: an independent oracle for
        // the matrices far past anything stepping can check.
        var m = JumpMatrix.powersOfTwo[63]
        for _ in 0..<65 { m = m.times(m) }
        var byMatrix = SeededGenerator(seed: 2024), byPolynomial = byMatrix
        byMatrix.apply(m)
        Self.publishedJump(&byPolynomial)
        #expect(byMatrix.state == byPolynomial.state)
    }

    @Test func skippingNormalsEqualsDrawingThem() {
        for count in [0, 1, 7, 1000] {
            var drawn = SeededGenerator(seed: 3), skipped = drawn
            _ = drawn.normals(count)
            skipped.skipNormals(count)
            #expect(drawn.next() == skipped.next(), "count = \(count)")
        }
        // Past 2^64 / 12 normals the skip takes twelve jumps: 12 (2^63 - 1) = 5 x 2^64 + (2^64 - 12) steps, here as
        // ten jumps of 2^63 and one of 2^64 - 12.
        var big = SeededGenerator(seed: 4), pieces = big
        big.skipNormals(Int.max)
        for _ in 0..<10 { pieces.advance(by: 1 << 63) }
        pieces.advance(by: UInt64.max - 11)
        #expect(big.next() == pieces.next())
    }

    @Test func aShardCostsItsOwnSizeNotTheStreams() throws {
        // The last 3 keys of 2^26 (k and v: 2^33 normals each before them; minutes of stepping even in a release
        // build): q and the shard only, jumped to. The values continue the stream where a small stream's do.
        let keys = 1 << 26
        let spec = RandomInputs(batch: 1, heads: 1, queries: 2, keys: keys, headDim: 128, seed: 6)
        let start = ContinuousClock.now
        let shard = try spec.generate(keyRange: (keys - 3)..<keys)
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(shard[1].data.shape == [1, 1, 3, 128])
        // k's last 3 rows are stream values 256 + (keys - 3) * 128 onwards.
        var g = SeededGenerator(seed: 6)
        _ = g.normals(256)
        g.skipNormals((keys - 3) * 128)
        #expect(shard[1].data.doubles() == g.normals(3 * 128))
    }
}
