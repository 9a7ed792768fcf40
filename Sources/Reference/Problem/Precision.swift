/// The compute precision of an attention run: the scalar type its kernels and results use.
public enum Precision: String, CaseIterable, Sendable {
    /// f64 values, `cblas_dgemm`; results written as F64.
    case f64
    /// f32 values, `cblas_sgemm`; results written as F32.
    case f32

    /// The file dtype of results in this precision.
    public var dtype: DType { self == .f64 ? .f64 : .f32 }
}
