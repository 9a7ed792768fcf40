import ArgumentParser
import Foundation
import Reference

/// The options that define one attention problem, shared by `treeattn attention` and `treeattn-mpi attention`:
/// layout, scale, causal mask, window, softcap, ALiBi, cache lengths, mask file and precision.
public struct AttentionOptionGroup: ParsableArguments {
    @Option(help: "Tensor layout: bhsd (batch, heads, seq, dim) or bshd.") public var layout: TensorLayout = .bhsd
    @Option(help: "Softmax scale (default 1/sqrt(d_qk)).") public var scale: Double?
    @Option(help: "Causal mask: none, top-left or bottom-right.") public var causal: CausalMode = .none
    @Option(help: "Sliding window L,R (inclusive, -1 = unbounded), FlashAttention's convention.") public var window: String?
    @Option(help: "Softcap c: s <- c tanh(s/c).") public var softcap: Double?
    @Option(help: "ALiBi slopes, one per query head, comma separated.") public var alibiSlopes: String?
    @Option(help: "Per-batch KV cache lengths, comma separated.") public var cacheSeqlens: String?
    @Option(help: "Mask file: boolean (true = attend) or float (additive) tensor 'mask', shape (Sq,Sk) or (B|1,H|1,Sq|1,Sk).")
    public var mask: String?
    @Option(help: "Compute precision: f64 (dgemm) or f32 (sgemm).") public var precision: Precision = .f64

    public init() {}

    /// The sequence axis of a rank-4 tensor file in this layout (2 for bhsd, 1 for bshd): the axis a key shard cuts.
    public var sequenceAxis: Int { layout == .bshd ? 1 : 2 }

    /// A tensor read from `path` as (batch, heads, seq, dim) f64 values: a float tensor of rank 4, moved from bshd if
    /// needed. NaN/Inf values are counted in a warning (they reach the output only in unmasked positions).
    public func values(_ t: TensorData, path: String, name: String) throws -> Tensor<Double> {
        guard t.dtype.isFloatingPoint else { throw CLIError("\(path): \(name) must be a float tensor, got \(t.dtype.rawValue)") }
        guard t.shape.count == 4 else { throw CLIError("\(path): \(name) must have rank 4 (\(layout)), got shape \(t.shape)") }
        let values = t.tensor()
        let bad = values.data.filter { !$0.isFinite }.count
        if bad > 0 {
            printWarning("\(name) holds \(bad) NaN/Inf values; in unmasked positions they propagate to the output")
        }
        return layout == .bshd ? values.swappingAxes12() : values
    }

    /// The attention options for a problem of this shape (`keys` is the total key count, masks are read whole).
    public func makeOptions(batch: Int, heads: Int, queries: Int, keys: Int) throws -> AttentionOptions {
        var options = AttentionOptions(scale: scale, causal: causal, softcap: softcap)
        if let window {
            let parts = window.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let l = parts[0], let r = parts[1] else { throw CLIError("--window needs L,R integers, got '\(window)'") }
            options.window = SlidingWindow(left: l, right: r)
        }
        if let alibiSlopes { options.alibiSlopes = try parseNumbers(alibiSlopes, "--alibi-slopes") }
        if let cacheSeqlens {
            options.cacheSeqlens = try parseNumbers(cacheSeqlens, "--cache-seqlens").map { value -> Int in
                guard let n = Int(exactly: value) else { throw CLIError("--cache-seqlens needs integers, got \(value)") }
                return n
            }
        }
        if let mask {
            let t = try TensorFiles.load(mask, name: "mask")
            if t.dtype == .bool || t.dtype == .u8 {
                options.mask = try BroadcastMask(t.tensor().map { $0 != 0 }, batch: batch, heads: heads, queries: queries, keys: keys)
            } else if t.dtype.isFloatingPoint {
                options.additiveMask = try BroadcastMask(t.tensor(), batch: batch, heads: heads, queries: queries, keys: keys)
            } else {
                throw CLIError("\(mask): mask must be bool/u8 (attend = true) or float (additive), got \(t.dtype.rawValue)")
            }
        }
        return options
    }

    /// The output tensor and its LSE in the file dtype of `precision`, in this layout (LSE stays (B, H, Sq)).
    public func encode<S: AttentionScalar>(_ r: AttentionPartial<S>) throws -> (output: TensorData, lse: TensorData) {
        try (data(r.output, swap: layout == .bshd), data(r.lse, swap: false))
    }

    /// A result tensor in the file dtype of `precision`, moved to bshd when `swap`.
    public func data<S: AttentionScalar>(_ t: Tensor<S>, swap: Bool) throws -> TensorData {
        let t64 = t.map { Double($0) }
        return try TensorData(swap ? t64.swappingAxes12() : t64, dtype: precision == .f64 ? .f64 : .f32)
    }
}
