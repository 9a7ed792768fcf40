import ArgumentParser
import Reference

// The values of the attention commands' choice options (`treeattn attention`, `treeattn-mpi attention`): the
// library's own enums, made parsable. ArgumentParser parses them, lists them in --help, and reports a bad value as one
// line naming the allowed values.

extension TensorLayout: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension CausalMode: ExpressibleByArgument {}
extension PageLayout: ExpressibleByArgument {}

/// `Reduction` as a command-line value (`--reduction`).
extension Reduction: ExpressibleByArgument {
    /// Parses `exact`, `binary`, `kary:K`, `two-level:G`, `flat`, `ring` or `algorithm3`.
    public init?(argument: String) {
        guard let value = try? Reduction(parsing: argument) else { return nil }
        self = value
    }

    /// The spellings listed in --help and in errors.
    public static var allValueStrings: [String] {
        ["exact", "binary", "kary:K", "two-level:G", "flat", "ring", "algorithm3"]
    }
}

/// `DType` as a command-line value (`--dtype`).
extension DType: ExpressibleByArgument {
    /// Parses a dtype name (`f64`, `f32`, `f16`, `bf16`, `f8e4m3fn`, `f8e5m2` and their aliases).
    public init?(argument: String) {
        guard let value = try? DType(parsing: argument) else { return nil }
        self = value
    }

    /// The spellings listed in --help and in errors.
    public static var allValueStrings: [String] {
        [Self.f64, .f32, .f16, .bf16, .f8e4m3fn, .f8e5m2].map(\.rawValue)
    }
}

/// `ToleranceVariant` as a command-line value (`check --tolerance-variant p-fp8|p-dtype|kv-dequant|kv-scale`).
extension ToleranceVariant: ExpressibleByArgument {}
