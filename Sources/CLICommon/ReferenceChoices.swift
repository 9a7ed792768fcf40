import ArgumentParser
import Reference

// The values of the attention commands' choice options (`treeattn attention`, `treeattn-mpi attention`).
// ArgumentParser parses them, lists them in --help, and reports a bad value as one line naming the allowed values.

/// Tensor axis order of attention inputs and outputs.
public enum TensorLayout: String, CaseIterable, ExpressibleByArgument {
    /// (batch, heads, seq, dim).
    case bhsd
    /// (batch, seq, heads, dim): FlashAttention's order.
    case bshd
}

/// Compute precision of `attention`.
public enum Precision: String, CaseIterable, ExpressibleByArgument {
    /// dgemm.
    case f64
    /// sgemm.
    case f32
}

extension CausalMode: ExpressibleByArgument {}
extension Reduction: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? Reduction(parsing: argument) else { return nil }
        self = value
    }

    public static var allValueStrings: [String] { ["exact", "binary", "kary:K", "two-level:G", "flat", "ring", "algorithm3"] }
}

extension DType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? DType(parsing: argument) else { return nil }
        self = value
    }

    public static var allValueStrings: [String] { [Self.f64, .f32, .f16, .bf16].map(\.rawValue) }
}
