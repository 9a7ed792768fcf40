import ArgumentParser
import Simulator

/// Per-command defaults of the decode workload options: `sweep` has defaults for the model shape, `simulate decode`
/// requires it (nil = required).
public protocol DecodeWorkloadDefaults {
    /// The default --heads (nil: required).
    static var heads: Int? { get }
    /// The default --head-dim (nil: required).
    static var headDim: Int? { get }
}

/// `simulate decode`: --heads and --head-dim are required.
public enum RequiredModelShape: DecodeWorkloadDefaults {
    /// Required.
    public static let heads: Int? = nil
    /// Required.
    public static let headDim: Int? = nil
}

/// `sweep`: the paper's Fig. 3 block, 16 heads x 128.
public enum SweepModelShape: DecodeWorkloadDefaults {
    /// 16 heads.
    public static let heads: Int? = 16
    /// 128 per head.
    public static let headDim: Int? = 128
}

/// The decode workload shared by `simulate decode` and `sweep`: batch, heads, KV heads, head dim and dtype.
/// `Defaults` supplies the command's defaults for --heads and --head-dim, and the help says which apply.
public struct DecodeWorkloadOptions<Defaults: DecodeWorkloadDefaults>: ParsableArguments {
    /// The options at their defaults (ArgumentParser fills them in).
    public init() {}

    @Option(name: .long, help: "Batch size b.")
    var batch: Int = 1

    @Option(name: .long, help: ArgumentHelp("Query heads n_h\(Self.note(Defaults.heads)).", valueName: "heads"))
    var heads: Int?

    @Option(name: .long, help: "Key/value heads n_kv (default: heads).")
    var kvHeads: Int?

    @Option(name: .long, help: ArgumentHelp("Head dimension d_h\(Self.note(Defaults.headDim)).", valueName: "head-dim"))
    var headDim: Int?

    @Option(name: .long, help: "bf16, fp16, fp32, f64 (or fp64) or fp8.")
    var dtype: String = "bf16"

    @Option(name: .long, help: "Value dimension d_v (default: head-dim).")
    var valueDim: Int?

    @Flag(
        name: .long, help: "MLA's latent cache: one KV head whose rows are the keys, their first value-dim the values.")
    var latentKV = false

    /// --model: a model's attention instead of the shape options.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A model's attention instead of the shape options: \(ModelAttention.all.map(\.name).joined(separator: ", ")).",
            valueName: "model"))
    public var model: String?

    /// " (default: V)" or " (required)" for the help.
    static func note(_ value: Int?) -> String { value.map { " (default: \($0))" } ?? " (required)" }

    /// --heads, or the command's default.
    public var resolvedHeads: Int { heads ?? Defaults.heads ?? 0 }

    /// --head-dim, or the command's default.
    public var resolvedHeadDim: Int { headDim ?? Defaults.headDim ?? 0 }

    /// The workload at `sequenceLength` tokens: the model's (`--model`), or the shape options'.
    public func workload(sequenceLength: Int) throws -> DecodeWorkload {
        if let model {
            return try ModelAttention.named(model).workload(sequenceLength: sequenceLength, batch: batch, dtype: dtype)
        }
        return try DecodeWorkload(
            sequenceLength: sequenceLength, batch: batch, heads: resolvedHeads, kvHeads: kvHeads,
            headDim: resolvedHeadDim, dtype: dtype, valueDim: valueDim, latentKV: latentKV)
    }

    /// Refuses --model beside the shape options, and a missing required shape option.
    public func validate() throws {
        if model != nil {
            guard heads == nil, kvHeads == nil, headDim == nil, valueDim == nil, !latentKV else {
                throw ValidationError(
                    "--model sets the heads and dims: give no --heads, --kv-heads, --head-dim, --value-dim or --latent-kv"
                )
            }
            return
        }
        if heads == nil && Defaults.heads == nil {
            throw ValidationError("Missing expected argument '--heads <heads>'")
        }
        if headDim == nil && Defaults.headDim == nil {
            throw ValidationError("Missing expected argument '--head-dim <head-dim>'")
        }
    }
}
