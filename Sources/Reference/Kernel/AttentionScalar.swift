import COpenBLAS
import RealModule

/// A floating-point type the reference computes attention in: f64 through `cblas_dgemm`, f32 through `cblas_sgemm`.
public protocol AttentionScalar: BinaryFloatingPoint, Real, Sendable, VectorRowKernels where Magnitude == Self {
    /// C = alpha * op(A) * op(B) + beta * C, all row-major (C is m x n, op(A) m x k). `transA`/`transB` select
    /// op(X) = X^T.
    static func gemm(
        transA: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int, transB: Bool,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    )
    /// The name used in files and messages ("f64", "f32").
    static var precisionName: String { get }
    /// sum |x_i| through BLAS (`cblas_dasum`/`sasum`): a streaming-read baseline for benchmarks.
    static func absoluteSum(_ x: UnsafePointer<Self>, count: Int) -> Self
}

/// f64 attention: products through `cblas_dgemm`.
extension Double: AttentionScalar {
    /// `cblas_dgemm`, row-major.
    public static func gemm(
        transA: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int, transB: Bool,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    /// "f64".
    public static var precisionName: String { "f64" }
    /// sum |x_i| through `cblas_dasum`.
    public static func absoluteSum(_ x: UnsafePointer<Double>, count: Int) -> Double { cblas_dasum(Int32(count), x, 1) }
}

/// f32 attention: products through `cblas_sgemm`.
extension Float: AttentionScalar {
    /// `cblas_sgemm`, row-major.
    public static func gemm(
        transA: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    /// "f32".
    public static var precisionName: String { "f32" }
    /// sum |x_i| through `cblas_sasum`.
    public static func absoluteSum(_ x: UnsafePointer<Float>, count: Int) -> Float { cblas_sasum(Int32(count), x, 1) }
}

extension AttentionScalar {
    /// C = alpha * A * op(B) + beta * C (A not transposed).
    @inline(__always)
    public static func gemm(
        m: Int, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        transB: Bool, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        gemm(
            transA: false, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, transB: transB, beta: beta,
            c: c, ldc: ldc)
    }

    /// e^x through `PortableMath` (same bits on every machine), rounded once to Self.
    @inline(__always) public static func portableExp(_ x: Self) -> Self { Self(PortableMath.exp(Double(x))) }
    /// log x through `PortableMath`.
    @inline(__always) public static func portableLog(_ x: Self) -> Self { Self(PortableMath.log(Double(x))) }
    /// log(1 + x) through `PortableMath`.
    @inline(__always) public static func portableLog1p(_ x: Self) -> Self { Self(PortableMath.log1p(Double(x))) }
}

/// Controls OpenBLAS's own thread pool (the reference parallelises over heads itself and runs BLAS single-threaded).
public enum BLASThreads {
    /// Threads OpenBLAS currently uses (`openblas_get_num_threads`).
    public static var count: Int { Int(openblas_get_num_threads()) }
    /// Sets OpenBLAS's thread count to `n` (`openblas_set_num_threads`); the kernels set 1 while their own workers
    /// run and restore the previous count after.
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// The kernel core OpenBLAS chose for this CPU (or OPENBLAS_CORETYPE), e.g. "Haswell", "Zen".
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
    /// OpenBLAS's build configuration string (version, threading, core).
    public static var configuration: String {
        openblas_get_config().map { String(cString: $0) } ?? "unknown"
    }
}
