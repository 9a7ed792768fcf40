/// Jump-ahead for `SeededGenerator`: xoshiro256**'s state transition is linear over GF(2) (shifts, rotations and
/// XORs of the four words; the ** scrambler touches the output only), so n steps are one 256 x 256 bit matrix, T^n.
/// `advance(by:)` multiplies the state by T^(2^k) for each bit k set in n: at most 64 matrix-vector products, whatever
/// n, so a rank's or a block's values start where the stream has them in O(1) instead of O(n) steps.
extension SeededGenerator {
    /// Moves the stream `steps` outputs ahead, exactly as `steps` calls of `next()` would.
    public mutating func advance(by steps: UInt64) {
        guard steps > 0 else { return }
        let table = JumpMatrix.powersOfTwo
        var words = [state.0, state.1, state.2, state.3]
        for k in 0..<64 where steps >> UInt64(k) & 1 == 1 { words = table[k].apply(words) }
        state = (words[0], words[1], words[2], words[3])
    }

    /// Moves the stream past `count` normals (12 outputs each) without computing them, in O(1).
    public mutating func skipNormals(_ count: Int) {
        let n = UInt64(max(0, count))
        let (steps, overflow) = n.multipliedReportingOverflow(by: 12)
        if !overflow {
            advance(by: steps)
        } else {
            // 12 x count past 2^64 (the period is 2^256 - 1): twelve jumps of count.
            for _ in 0..<12 { advance(by: n) }
        }
    }

    /// Applies the jump matrix `matrix` to the state (tests: T^(2^128) against the published `jump()` polynomial).
    mutating func apply(_ matrix: JumpMatrix) {
        let words = matrix.apply([state.0, state.1, state.2, state.3])
        state = (words[0], words[1], words[2], words[3])
    }
}

/// A 256 x 256 matrix over GF(2) acting on xoshiro256**'s state (four 64-bit words, bit j of the state is bit j % 64 of
/// word j / 64): stored by columns, column j being the image of the state with bit j alone set.
struct JumpMatrix: Sendable {
    /// 256 columns of four words each.
    let columns: [UInt64]

    /// The state with each set bit's column XORed in (matrix times vector over GF(2)).
    func apply(_ words: [UInt64]) -> [UInt64] {
        var r0: UInt64 = 0, r1: UInt64 = 0, r2: UInt64 = 0, r3: UInt64 = 0
        columns.withUnsafeBufferPointer { c in
            for w in 0..<4 {
                var bits = words[w]
                while bits != 0 {
                    let j = (w << 6 | bits.trailingZeroBitCount) << 2
                    bits &= bits - 1
                    r0 ^= c[j]
                    r1 ^= c[j + 1]
                    r2 ^= c[j + 2]
                    r3 ^= c[j + 3]
                }
            }
        }
        return [r0, r1, r2, r3]
    }

    /// The product self x other (other applied first): its columns are `self` applied to `other`'s.
    func times(_ other: JumpMatrix) -> JumpMatrix {
        var out = [UInt64](repeating: 0, count: 1024)
        for j in 0..<256 {
            let image = apply(Array(other.columns[(4 * j)..<(4 * j + 4)]))
            for w in 0..<4 { out[4 * j + w] = image[w] }
        }
        return JumpMatrix(columns: out)
    }

    /// T, one step of the state transition (the linear part of `SeededGenerator.next()`), column by column.
    static let step: JumpMatrix = {
        var out = [UInt64](repeating: 0, count: 1024)
        for j in 0..<256 {
            var s = [UInt64](repeating: 0, count: 4)
            s[j >> 6] = 1 << UInt64(j & 63)
            let t = s[1] << 17
            s[2] ^= s[0]
            s[3] ^= s[1]
            s[1] ^= s[2]
            s[0] ^= s[3]
            s[2] ^= t
            s[3] = s[3] << 45 | s[3] >> 19
            for w in 0..<4 { out[4 * j + w] = s[w] }
        }
        return JumpMatrix(columns: out)
    }()

    /// T^(2^k) for k = 0..<64, squared one from the other on first use (a few milliseconds; 512 KB).
    static let powersOfTwo: [JumpMatrix] = {
        var table = [step]
        for _ in 1..<64 { table.append(table[table.count - 1].times(table[table.count - 1])) }
        return table
    }()
}
