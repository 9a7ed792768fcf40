/// Correct rounding of f64 values to narrower binary formats (round to nearest, ties to even), in ONE step:
/// never f64 -> f32 -> bf16 (double rounding). bf16 = 8 significant bits with f32's exponent range; f16 = 11 bits,
/// exponents -14...15. NaN maps to the canonical quiet NaN (bf16 0x7FC0, f16 0x7E00).
public enum Rounding {
    /// Rounds `x` to `precision` significant bits with normal exponents emin...emax (subnormals below emin).
    public static func round(_ x: Double, precision: Int, emin: Int, emax: Int) -> Double {
        guard x.isFinite, x != 0 else { return x }
        let e = max(Int(x.exponent), emin)
        let quantum = Double(sign: .plus, exponent: e - (precision - 1), significand: 1)
        let r = (x / quantum).rounded(.toNearestOrEven) * quantum
        let largest = Double(
            sign: .plus, exponent: emax,
            significand: 2 - Double(sign: .plus, exponent: -(precision - 1), significand: 1))
        return abs(r) > largest ? (r < 0 ? -.infinity : .infinity) : r
    }

    /// The f64 value of the bf16 nearest to `x`.
    public static func toBFloat16(_ x: Double) -> Double { round(x, precision: 8, emin: -126, emax: 127) }

    /// The f64 value of the f16 nearest to `x`.
    public static func toFloat16(_ x: Double) -> Double { round(x, precision: 11, emin: -14, emax: 15) }

    /// The f64 value of the f32 nearest to `x`.
    public static func toFloat32(_ x: Double) -> Double { Double(Float(x)) }

    /// Rounds to `dtype` (identity for f64; the FP8 formats with the cast's overflow rule, `Float8Overflow.cast`).
    public static func to(_ dtype: DType, _ x: Double) -> Double {
        switch dtype {
        case .f64: return x
        case .f32: return toFloat32(x)
        case .f16: return toFloat16(x)
        case .bf16: return toBFloat16(x)
        case .i64, .i32, .u8: return x.rounded(.toNearestOrEven)
        case .bool: return x != 0 ? 1 : 0
        case .f8e4m3fn: return toFloat8(x, .e4m3fn)
        case .f8e5m2: return toFloat8(x, .e5m2)
        }
    }

    /// bf16 bits of a value already representable in bf16 (or NaN).
    public static func bfloat16Bits(_ exact: Double) -> UInt16 {
        if exact.isNaN { return 0x7FC0 }
        return UInt16(truncatingIfNeeded: Float(exact).bitPattern >> 16)
    }

    /// f16 bits of a value already representable in f16 (or NaN).
    public static func float16Bits(_ exact: Double) -> UInt16 {
        if exact.isNaN { return 0x7E00 }
        let sign: UInt16 = exact.sign == .minus ? 0x8000 : 0
        let a = abs(exact)
        if a == .infinity { return sign | 0x7C00 }
        if a == 0 { return sign }
        if a < 0x1p-14 { return sign | UInt16(a / 0x1p-24) }  // subnormal: multiples of 2^-24
        let e = Int(a.exponent)
        let mantissa = UInt16((a / Double(sign: .plus, exponent: e, significand: 1) - 1) * 1024)
        return sign | UInt16(e + 15) << 10 | mantissa
    }

    /// The exact f64 value of bf16 bits `bits`.
    public static func bfloat16Value(_ bits: UInt16) -> Double { Double(Float(bitPattern: UInt32(bits) << 16)) }

    /// The exact f64 value of IEEE half bits `bits` (subnormals, infinities and NaN included).
    public static func float16Value(_ bits: UInt16) -> Double {
        let sign = bits & 0x8000 != 0 ? -1.0 : 1.0
        let e = Int((bits >> 10) & 0x1F), m = Double(bits & 0x3FF)
        if e == 0x1F { return m == 0 ? sign * .infinity : .nan }
        if e == 0 { return sign * m * 0x1p-24 }
        return sign * (1 + m / 1024) * Double(sign: .plus, exponent: e - 15, significand: 1)
    }
}

extension Tensor where Element: AttentionScalar {
    /// Every value rounded once to `dtype` (through f64; the identity for f64), as a kernel that writes a computed
    /// value (a rotated key, say) into a tensor of that dtype keeps it.
    public func rounded(to dtype: DType) -> Tensor {
        dtype == .f64 ? self : map { Element(Rounding.to(dtype, Double($0))) }
    }
}
