import ArgumentParser
import CLICommon
import Simulator

/// Per-command defaults of the decode workload options: `sweep` has defaults for the model shape, `simulate decode`
/// requires it (nil = required).
protocol DecodeWorkloadDefaults {
    static var heads: Int? { get }
    static var headDim: Int? { get }
}

/// `simulate decode`: --heads and --head-dim are required.
enum RequiredModelShape: DecodeWorkloadDefaults {
    static let heads: Int? = nil
    static let headDim: Int? = nil
}

/// `sweep`: the paper's Fig. 3 block, 16 heads x 128.
enum SweepModelShape: DecodeWorkloadDefaults {
    static let heads: Int? = 16
    static let headDim: Int? = 128
}

/// The decode workload shared by `simulate decode` and `sweep`: batch, heads, KV heads, head dim and dtype.
/// `Defaults` supplies the command's defaults for --heads and --head-dim, and the help says which apply.
struct DecodeWorkloadOptions<Defaults: DecodeWorkloadDefaults>: ParsableArguments {
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

    static func note(_ value: Int?) -> String { value.map { " (default: \($0))" } ?? " (required)" }

    /// --heads, or the command's default.
    var resolvedHeads: Int { heads ?? Defaults.heads ?? 0 }

    /// --head-dim, or the command's default.
    var resolvedHeadDim: Int { headDim ?? Defaults.headDim ?? 0 }

    func validate() throws {
        if heads == nil && Defaults.heads == nil {
            throw ValidationError("Missing expected argument '--heads <heads>'")
        }
        if headDim == nil && Defaults.headDim == nil {
            throw ValidationError("Missing expected argument '--head-dim <head-dim>'")
        }
    }
}
