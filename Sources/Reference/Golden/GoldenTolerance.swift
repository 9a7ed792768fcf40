/// The naive pipelines a case with several output tolerances derives them from (`GoldenCase.outputVariantTolerances`;
/// `treeattn check --tolerance-variant`).
public enum ToleranceVariant: String, CaseIterable, Sendable {
    /// FP8 inputs: P = exp(s - m) rounded to float8_e4m3fn before P.V (FlashAttention 3).
    case pFP8 = "p-fp8"
    /// FP8 inputs: P kept in the test dtype.
    case pDtype = "p-dtype"
    /// FP8 KV cache: K and V dequantised into the query's dtype (code x scale, rounded) before attention (vLLM).
    case kvDequant = "kv-dequant"
    /// FP8 KV cache: the codes in the products, the K scale on the f32 scores and the V scale on the f32 output
    /// (FlashInfer).
    case kvScale = "kv-scale"
}

/// A derived tolerance (FlashAttention's rule): a backend passes when its max abs error against the f64 golden is
/// at most 2 x the max abs error of the emulated naive same-precision pipeline plus a floor. The floor is
/// FlashAttention 3's: 2 x max |t(t(g + 0.3) - 0.3) - g|, the rounding noise of dtype t at the golden's magnitude.
public struct GoldenTolerance: Equatable, Sendable {
    /// Max abs error of the emulated naive same-precision pipeline against the f64 golden.
    public let naiveMaxAbsError: Double
    /// The rounding-noise floor, 2 x max |t(t(g + 0.3) - 0.3) - g| over the golden values g.
    public let floor: Double
    /// The tolerance: 2 x `naiveMaxAbsError` + `floor`.
    public var atol: Double { 2 * naiveMaxAbsError + floor }

    /// The pass rule in words, as golden files' metadata and `manifest.json` record it.
    public static let rule =
        "pass when max|backend - golden_f64| <= 2 * max|naive_same_precision - golden_f64| + floor, "
        + "floor = 2 * max|t(t(golden + 0.3) - 0.3) - golden|; NaN never passes; -inf LSE rows must be -inf (or +inf, FlashAttention 2)"

    /// A tolerance from its two parts.
    public init(naiveMaxAbsError: Double, floor: Double) {
        self.naiveMaxAbsError = naiveMaxAbsError
        self.floor = floor
    }

    /// Derives the tolerance of `golden` from the naive pipeline's values, for rounding type `dtype`.
    public static func derive(golden: [Double], naive: [Double], dtype: DType) -> GoldenTolerance {
        var worst = 0.0, floor = 0.0
        for (g, n) in zip(golden, naive) where g.isFinite {
            worst = max(worst, n.isFinite ? abs(n - g) : .infinity)
            let noise = Rounding.to(dtype, Rounding.to(dtype, g + 0.3) - 0.3) - g
            floor = max(floor, 2 * abs(noise))
        }
        return GoldenTolerance(naiveMaxAbsError: worst, floor: floor)
    }
}
