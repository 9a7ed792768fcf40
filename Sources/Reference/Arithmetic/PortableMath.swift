/// exp, log, log1p, tanh, sin and cos from IEEE additions, multiplications and divisions only (no libm), so every machine
/// computes the same bits: golden files are byte-identical everywhere. Accuracy: a few ulps (tested against libm
/// and, in Python, against mpmath).
public enum PortableMath {
    /// e^x for any x: Cody-Waite range reduction, degree-13 Taylor polynomial, 2^n from the exponent bits.
    /// Below -708 the result is 0 (no subnormals); above 709.78 it is +inf.
    @inline(__always)
    public static func exp(_ x: Double) -> Double {
        if x > 709.782712893384 { return .infinity }
        return SoftmaxExp.exp(x)
    }

    /// Natural log: x = 2^k f with f in [sqrt(1/2), sqrt(2)), log f = 2 atanh(s), s = (f - 1)/(f + 1).
    public static func log(_ x: Double) -> Double {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x == .infinity { return .infinity }
        var k = Int(x.exponent)
        var f = x.significand  // in [1, 2); subnormals are normalised by `exponent`/`significand`
        if f > 1.4142135623730951 {
            f /= 2
            k += 1
        }
        let s = (f - 1) / (f + 1), s2 = s * s
        // 2 atanh(s) = 2 (s + s^3/3 + ... + s^23/23); |s| < 0.1716 so the next term is below 2^-60 relative.
        var p = 1.0 / 23
        for n in stride(from: 21, through: 3, by: -2) { p = 1 / Double(n) + p * s2 }
        let logF = 2 * s + 2 * s * s2 * p
        let kd = Double(k)
        return (kd * 6.93147180369123816490e-01 + logF) + kd * 1.90821492927058770002e-10
    }

    /// log(1 + x), accurate for small x.
    public static func log1p(_ x: Double) -> Double {
        if abs(x) < 0x1p-20 { return x - x * x / 2 + x * x * x / 3 }
        let u = 1 + x
        if u == 1 { return x }
        // Correct for the rounding of 1 + x (Goldberg's trick).
        return log(u) * (x / (u - 1))
    }

    /// e^x - 1, accurate for small x.
    public static func expm1(_ x: Double) -> Double {
        if abs(x) < 0.5 {
            // x + x^2 (1/2! + x/3! + ... + x^16/18!); the first omitted term is below 2^-70 relative.
            // (Beyond 0.5, exp(x) - 1 loses at most about one bit to cancellation.)
            var p = inverseFactorials[18]
            for n in stride(from: 17, through: 2, by: -1) { p = inverseFactorials[n] + p * x }
            return x + x * x * p
        }
        return exp(x) - 1
    }

    /// tanh(x) = expm1(2x) / (expm1(2x) + 2), odd, saturating to +-1 beyond |x| = 20.
    public static func tanh(_ x: Double) -> Double {
        if x.isNaN { return x }
        let a = abs(x)
        if a > 20 { return x < 0 ? -1 : 1 }
        let e = expm1(2 * a)
        let t = e / (e + 2)
        return x < 0 ? -t : t
    }

    /// 1/n! for n = 0...22, each a product of integers (exact up to 18!, one rounding per step beyond) then one
    /// division.
    static let inverseFactorials: [Double] = (0...22).map { n in 1 / (1...max(1, n)).reduce(1.0) { $0 * Double($1) } }

    /// The largest |x| `sinCos` takes: 2^20 quarter turns, where its exact Cody-Waite reduction ends (rotary
    /// embeddings stay far below: a position of 2^20 times a frequency of at most 1).
    public static let sinCosLimit = 1_647_099.0

    /// (sin x, cos x) for |x| <= `sinCosLimit` (NaN beyond, and for NaN or infinite x): x = n pi/2 + y with pi/2
    /// in four parts (fdlibm's; the first three have 33 significant bits, so n times each is exact for n < 2^20),
    /// |y| <= pi/4, then Taylor polynomials to y^21/21! and y^22/22! (the next terms are below 2^-80 relative).
    public static func sinCos(_ x: Double) -> (sin: Double, cos: Double) {
        guard x.isFinite, abs(x) <= sinCosLimit else { return (.nan, .nan) }
        let n = (x * 0.63661977236758138243).rounded(.toNearestOrEven)
        let y =
            (((x - n * 1.57079632673412561417e+00) - n * 6.07710050630396597660e-11)
                - n * 2.02226624871116645580e-21) - n * 8.47842766036889956997e-32
        let y2 = y * y
        let sinY = y * sinSeries(y2), cosY = cosSeries(y2)
        switch Int(n) & 3 {
        case 0: return (sinY, cosY)
        case 1: return (cosY, -sinY)
        case 2: return (-sinY, -cosY)
        default: return (-cosY, sinY)
        }
    }

    /// sum_k (-1)^k y2^k / (2k+1)! for k = 0...10, by Horner from the highest term.
    static func sinSeries(_ y2: Double) -> Double {
        var p = inverseFactorials[21]
        for k in stride(from: 9, through: 0, by: -1) {
            p = (k % 2 == 0 ? inverseFactorials[2 * k + 1] : -inverseFactorials[2 * k + 1]) + y2 * p
        }
        return p
    }

    /// sum_k (-1)^k y2^k / (2k)! for k = 0...11, by Horner from the highest term.
    static func cosSeries(_ y2: Double) -> Double {
        var p = -inverseFactorials[22]
        for k in stride(from: 10, through: 0, by: -1) {
            p = (k % 2 == 0 ? inverseFactorials[2 * k] : -inverseFactorials[2 * k]) + y2 * p
        }
        return p
    }
}
