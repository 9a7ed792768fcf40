/// The two 8-bit float formats of FP8 attention, as ml_dtypes and PyTorch define them (`float8_e4m3fn`,
/// `float8_e5m2`; the OCP FP8 formats): e4m3fn has 3 mantissa bits, exponent bias 7, no infinity and one NaN
/// pattern per sign (S.1111.111), so its largest finite value is 448; e5m2 is IEEE-like (2 mantissa bits, bias 15,
/// infinities, largest finite 57344). Both have subnormals (e4m3fn down to 2^-9, e5m2 to 2^-16).
public enum Float8Format: String, CaseIterable, Sendable {
    /// 1 sign, 4 exponent, 3 mantissa bits; finite only (NaN, no infinity); largest 448.
    case e4m3fn
    /// 1 sign, 5 exponent, 2 mantissa bits; IEEE infinities and NaNs; largest 57344.
    case e5m2

    /// Significant bits, the implicit one included (4 for e4m3fn, 3 for e5m2).
    public var precision: Int { self == .e4m3fn ? 4 : 3 }
    /// Mantissa bits stored (3 or 2).
    public var mantissaBits: Int { precision - 1 }
    /// Exponent bias (7 or 15).
    public var bias: Int { self == .e4m3fn ? 7 : 15 }
    /// Smallest normal exponent (-6 or -14); subnormals are multiples of 2^(emin - mantissaBits).
    public var emin: Int { 1 - bias }
    /// Largest finite value: 448 (e4m3fn) or 57344 (e5m2).
    public var largest: Double { self == .e4m3fn ? 448 : 57344 }
    /// The bits of the canonical quiet NaN: 0x7F (e4m3fn) or 0x7E (e5m2), as ml_dtypes writes them.
    public var nanBits: UInt8 { self == .e4m3fn ? 0x7F : 0x7E }
    /// The `DType` whose elements are in this format.
    public var dtype: DType { self == .e4m3fn ? .f8e4m3fn : .f8e5m2 }
}

/// What happens to a finite value beyond the largest finite one.
public enum Float8Overflow: String, Sendable {
    /// The cast of ml_dtypes' `astype` and PyTorch's `.to(float8)`: after rounding to nearest even, a magnitude above
    /// the largest finite value becomes NaN (e4m3fn, which has no infinity) or infinity (e5m2); infinities become NaN
    /// (e4m3fn) or stay (e5m2).
    case cast
    /// What kernels do when they quantise (`(x * scale).clamp(-max, max).to(fp8)` in FlashAttention 3's tests and
    /// Transformer Engine): the magnitude is clamped to the largest finite value first, infinities included.
    case saturate
}

extension Rounding {
    /// The f64 value of `x` rounded once (to nearest, ties to even) to `format`, with `overflow`'s rule beyond the
    /// largest finite value. NaN stays NaN; zeros keep their sign.
    public static func toFloat8(_ x: Double, _ format: Float8Format, overflow: Float8Overflow = .cast) -> Double {
        if x.isNaN { return .nan }
        if x.isInfinite {
            if overflow == .saturate { return x < 0 ? -format.largest : format.largest }
            return format == .e4m3fn ? .nan : x
        }
        let r = round(x, precision: format.precision, emin: format.emin, emax: 64)
        guard abs(r) > format.largest else { return r }
        switch overflow {
        case .saturate: return r < 0 ? -format.largest : format.largest
        case .cast: return format == .e4m3fn ? .nan : (r < 0 ? -.infinity : .infinity)
        }
    }

    /// The bits of a value already representable in `format` (or NaN, written as the canonical NaN with its sign;
    /// an infinity in e4m3fn, which has none, as NaN).
    public static func float8Bits(_ exact: Double, _ format: Float8Format) -> UInt8 {
        let sign: UInt8 = exact.sign == .minus ? 0x80 : 0
        if exact.isNaN || (exact.isInfinite && format == .e4m3fn) { return sign | format.nanBits }
        let a = abs(exact), m = format.mantissaBits
        if a == .infinity { return sign | 0x7C }
        if a == 0 { return sign }
        let e = Int(a.exponent)
        if e < format.emin {
            // Subnormal: a multiple of 2^(emin - m).
            return sign | UInt8(a / Double(sign: .plus, exponent: format.emin - m, significand: 1))
        }
        let mantissa = UInt8((a / Double(sign: .plus, exponent: e, significand: 1) - 1) * Double(1 << m))
        return sign | UInt8(e + format.bias) << m | mantissa
    }

    /// The exact f64 value of `format` bits `bits` (subnormals, infinities and NaN included).
    public static func float8Value(_ bits: UInt8, _ format: Float8Format) -> Double {
        let sign = bits & 0x80 != 0 ? -1.0 : 1.0
        let m = format.mantissaBits
        let e = Int((bits & 0x7F) >> m), f = Double(bits & UInt8((1 << m) - 1))
        switch format {
        case .e4m3fn where bits & 0x7F == 0x7F: return .nan
        case .e5m2 where e == 0x1F: return f == 0 ? sign * .infinity : .nan
        default: break
        }
        if e == 0 { return sign * f * Double(sign: .plus, exponent: format.emin - m, significand: 1) }
        return sign * (1 + f / Double(1 << m)) * Double(sign: .plus, exponent: e - format.bias, significand: 1)
    }
}
