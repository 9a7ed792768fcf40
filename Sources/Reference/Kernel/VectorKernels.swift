import CKernels

/// The instruction set the kernel's own loops (the softmax's exp and sum, max, and decoding's few-row products) run
/// on, chosen per call (`KernelBlocking.isa`, default the best this CPU has, read from cpuid by `CKernels`): AVX2 with
/// FMA where present, else the portable baseline. The two give results that differ in the last bits (FMA rounds once,
/// sums run in other orders); golden files never go through these kernels (they use `PortableMath` and compensated
/// sums), so they stay byte-identical everywhere.
public enum KernelISA: String, CaseIterable, Sendable {
    /// The portable loops, for every CPU (no AVX2, no FMA).
    case baseline
    /// AVX2 with FMA (raw value `avx2-fma`), where the CPU has both.
    case avx2 = "avx2-fma"

    init(level: Int32) { self = level >= Int32(TK_ISA_AVX2_FMA) ? .avx2 : .baseline }
    /// The level passed to `CKernels` (a level the CPU lacks runs as the best it has).
    public var level: Int32 { self == .avx2 ? Int32(TK_ISA_AVX2_FMA) : Int32(TK_ISA_BASELINE) }

    /// The best set this CPU supports.
    public static var supported: KernelISA { KernelISA(level: tk_isa_supported()) }
}

/// The element-wise row passes of the kernel, in the scalar type itself (f32 rows are never widened).
public protocol VectorRowKernels {
    /// row[i] = exp(row[i] - m); returns the sum of the new values.
    static func expSum(_ row: UnsafeMutablePointer<Self>, count: Int, minus m: Self, isa: KernelISA) -> Self
    /// The row's maximum (-inf when empty), NaN if any element is NaN.
    static func rowMax(_ row: UnsafePointer<Self>, count: Int, isa: KernelISA) -> Self
    /// row[i] *= a.
    static func scale(_ row: UnsafeMutablePointer<Self>, count: Int, by a: Self)
    /// True when every element is finite.
    static func allFinite(_ row: UnsafePointer<Self>, count: Int) -> Bool
    /// Decoding's scores, streaming K once: s[r * nk + j] = alpha * q_r . k_j (rows of q and k are d long).
    static func fewRowScores(
        q: UnsafePointer<Self>, rows: Int, d: Int, k: UnsafePointer<Self>, keys: Int, alpha: Self,
        into s: UnsafeMutablePointer<Self>, isa: KernelISA)
    /// Decoding's P.V, streaming V once: o[r * dv + c] += sum_j p[r * nk + j] v[j * dv + c].
    static func fewRowPV(
        p: UnsafePointer<Self>, rows: Int, keys: Int, v: UnsafePointer<Self>, dv: Int,
        into o: UnsafeMutablePointer<Self>, isa: KernelISA)
    /// Widens `count` bf16 (`bf16`) or IEEE half bits exactly.
    static func widen16(
        _ x: UnsafePointer<UInt16>, count: Int, bf16: Bool, into y: UnsafeMutablePointer<Self>, isa: KernelISA)
    /// `count` floats as Self: widened exactly (f64) or copied (f32).
    static func widen32(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Self>)
}

/// The row passes on f64 rows (`CKernels`' `_f64` functions).
extension Double: VectorRowKernels {
    /// row[i] = exp(row[i] - m) and their sum (`tk_exp_sum_f64`).
    @inline(__always) public static func expSum(
        _ row: UnsafeMutablePointer<Double>, count: Int, minus m: Double, isa: KernelISA
    ) -> Double {
        tk_exp_sum_f64(isa.level, row, count, m)
    }
    /// The row's maximum (`tk_max_f64`).
    @inline(__always) public static func rowMax(_ row: UnsafePointer<Double>, count: Int, isa: KernelISA) -> Double {
        tk_max_f64(isa.level, row, count)
    }
    /// row[i] *= a (`tk_scale_f64`).
    @inline(__always) public static func scale(_ row: UnsafeMutablePointer<Double>, count: Int, by a: Double) {
        tk_scale_f64(row, count, a)
    }
    /// True when every element is finite (`tk_all_finite_f64`).
    @inline(__always) public static func allFinite(_ row: UnsafePointer<Double>, count: Int) -> Bool {
        tk_all_finite_f64(row, count) != 0
    }
    /// Decoding's scores, streaming K once (`tk_scores_f64`).
    @inline(__always) public static func fewRowScores(
        q: UnsafePointer<Double>, rows: Int, d: Int, k: UnsafePointer<Double>, keys: Int, alpha: Double,
        into s: UnsafeMutablePointer<Double>, isa: KernelISA
    ) { tk_scores_f64(isa.level, q, rows, d, k, keys, alpha, s) }
    /// Decoding's P.V, streaming V once (`tk_pv_f64`).
    @inline(__always) public static func fewRowPV(
        p: UnsafePointer<Double>, rows: Int, keys: Int, v: UnsafePointer<Double>, dv: Int,
        into o: UnsafeMutablePointer<Double>,
        isa: KernelISA
    ) { tk_pv_f64(isa.level, p, rows, keys, v, dv, o) }
    /// bf16 or f16 bits widened exactly (`tk_widen16_f64`).
    @inline(__always) public static func widen16(
        _ x: UnsafePointer<UInt16>, count: Int, bf16: Bool, into y: UnsafeMutablePointer<Double>, isa: KernelISA
    ) { tk_widen16_f64(isa.level, x, count, bf16 ? 1 : 0, y) }
    /// f32 values widened exactly (`tk_widen32_f64`).
    @inline(__always) public static func widen32(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Double>
    ) {
        tk_widen32_f64(x, count, y)
    }
}

/// The row passes on f32 rows (`CKernels`' `_f32` functions), never widened.
extension Float: VectorRowKernels {
    /// row[i] = exp(row[i] - m) and their sum (`tk_exp_sum_f32`).
    @inline(__always) public static func expSum(
        _ row: UnsafeMutablePointer<Float>, count: Int, minus m: Float, isa: KernelISA
    ) -> Float {
        tk_exp_sum_f32(isa.level, row, count, m)
    }
    /// The row's maximum (`tk_max_f32`).
    @inline(__always) public static func rowMax(_ row: UnsafePointer<Float>, count: Int, isa: KernelISA) -> Float {
        tk_max_f32(isa.level, row, count)
    }
    /// row[i] *= a (`tk_scale_f32`).
    @inline(__always) public static func scale(_ row: UnsafeMutablePointer<Float>, count: Int, by a: Float) {
        tk_scale_f32(row, count, a)
    }
    /// True when every element is finite (`tk_all_finite_f32`).
    @inline(__always) public static func allFinite(_ row: UnsafePointer<Float>, count: Int) -> Bool {
        tk_all_finite_f32(row, count) != 0
    }
    /// Decoding's scores, streaming K once (`tk_scores_f32`).
    @inline(__always) public static func fewRowScores(
        q: UnsafePointer<Float>, rows: Int, d: Int, k: UnsafePointer<Float>, keys: Int, alpha: Float,
        into s: UnsafeMutablePointer<Float>, isa: KernelISA
    ) { tk_scores_f32(isa.level, q, rows, d, k, keys, alpha, s) }
    /// Decoding's P.V, streaming V once (`tk_pv_f32`).
    @inline(__always) public static func fewRowPV(
        p: UnsafePointer<Float>, rows: Int, keys: Int, v: UnsafePointer<Float>, dv: Int,
        into o: UnsafeMutablePointer<Float>,
        isa: KernelISA
    ) { tk_pv_f32(isa.level, p, rows, keys, v, dv, o) }
    /// bf16 or f16 bits widened exactly (`tk_widen16_f32`).
    @inline(__always) public static func widen16(
        _ x: UnsafePointer<UInt16>, count: Int, bf16: Bool, into y: UnsafeMutablePointer<Float>, isa: KernelISA
    ) { tk_widen16_f32(isa.level, x, count, bf16 ? 1 : 0, y) }
    /// f32 values copied (`tk_copy32_f32`).
    @inline(__always) public static func widen32(
        _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>
    ) {
        tk_copy32_f32(x, count, y)
    }
}
