/// The portable exponential (PortableMath.exp's core; CKernels' baseline computes the same bits), for arguments x = s - max <= 0 (or NaN): range reduction
/// x = n ln2 + r with |r| <= ln2/2, a degree-13 Taylor polynomial in Horner form, and 2^n from the exponent bits.
/// Branch-free so the row loop vectorises; relative error within a few ulps of the true value (tested against libm).
/// Arguments below -708 give 0: such weights are below 1e-307 of the row maximum's weight of 1. NaN gives NaN.
public enum SoftmaxExp {
    /// e^x for x <= 0 (or NaN), computed as described above: 0 below -708, NaN for NaN.
    @inline(__always)
    public static func exp(_ x: Double) -> Double {
        let shifter = 0x1.8p52
        let t = x * 1.4426950408889634 + shifter
        let kd = t - shifter
        let n = Int64(bitPattern: t.bitPattern) &- Int64(bitPattern: shifter.bitPattern)
        // r = x - kd ln2 with Cody-Waite's split of ln2 (fdlibm): kd * ln2Hi is exact for |kd| < 2^20.
        // Plain multiplies and adds: x86-64's baseline has no FMA instruction and a libm fma call per step is slow.
        let r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10
        // Horner: p = 1/13!; p = 1/k! + p r for k = 12 ... 0 (written out so the loop over a row vectorises).
        var p = 1.0 / 6_227_020_800
        p = 1.0 / 479_001_600 + p * r
        p = 1.0 / 39_916_800 + p * r
        p = 1.0 / 3_628_800 + p * r
        p = 1.0 / 362_880 + p * r
        p = 1.0 / 40_320 + p * r
        p = 1.0 / 5_040 + p * r
        p = 1.0 / 720 + p * r
        p = 1.0 / 120 + p * r
        p = 1.0 / 24 + p * r
        p = 1.0 / 6 + p * r
        p = 0.5 + p * r
        p = 1 + p * r
        p = 1 + p * r
        let scale = Double(bitPattern: UInt64(bitPattern: (n &+ 1023) &<< 52))
        let result = p * scale
        return x < -708 ? 0 : result
    }
}
