/// The attention of one layer of a published model as a decode step sees it: heads, KV heads, key and value
/// dimensions, whether K and V share a latent cache (MLA), and a sliding window. `--model` in `simulate decode` and
/// `sweep`. Tree vs Ring volumes follow from the cache per token this implies (`DecodeWorkload.kvElements`): 576
/// values for DeepSeek-V3's latent cache against 2 x 8 x 128 = 2,048 for Llama 3.1's GQA cache, so a K/V ring moves
/// 3.6x less per token on DeepSeek-V3 while Tree's all-reduce of the numerator grows to 128 x 512 values per query.
/// Sources (each model's config.json on Hugging Face) are in docs/simulator.md.
public struct ModelAttention: Equatable, Sendable {
    /// The `--model` name.
    public var name: String
    /// Query heads n_h.
    public var heads: Int
    /// KV heads (1 for a latent cache).
    public var kvHeads: Int
    /// Key (and query) dimension per head.
    public var headDim: Int
    /// Value dimension per head.
    public var valueDim: Int
    /// Whether K and V are one latent row per token (MLA in its absorbed decode form).
    public var latentKV: Bool
    /// A sliding window: a query attends to (and the layer caches) only the last `window` tokens; nil for none.
    public var window: Int?

    /// DeepSeek-V3 (and R1, V2's shape with 128 heads): multi-head latent attention decoded in the absorbed form,
    /// 128 query heads against one latent head of kv_lora_rank 512 + qk_rope_head_dim 64 = 576 per token, values its
    /// first 512.
    public static let deepSeekV3 = ModelAttention(
        name: "deepseek-v3", heads: 128, kvHeads: 1, headDim: 576, valueDim: 512, latentKV: true, window: nil)
    /// Llama 3.1 70B: 64 query heads, 8 KV heads of 128 (GQA).
    public static let llama31_70B = ModelAttention(
        name: "llama-3.1-70b", heads: 64, kvHeads: 8, headDim: 128, valueDim: 128, latentKV: false, window: nil)
    /// Llama 3.1 405B: 128 query heads, 8 KV heads of 128 (GQA).
    public static let llama31_405B = ModelAttention(
        name: "llama-3.1-405b", heads: 128, kvHeads: 8, headDim: 128, valueDim: 128, latentKV: false, window: nil)
    /// gpt-oss-120b's full-attention layers: 64 query heads, 8 KV heads of 64 (its sinks add one logit per head and
    /// no K/V: no volume).
    public static let gptOss120B = ModelAttention(
        name: "gpt-oss-120b", heads: 64, kvHeads: 8, headDim: 64, valueDim: 64, latentKV: false, window: nil)
    /// gpt-oss-120b's sliding-window layers (every other layer): the same heads over the last 128 tokens only.
    public static let gptOss120BSliding = ModelAttention(
        name: "gpt-oss-120b-sliding", heads: 64, kvHeads: 8, headDim: 64, valueDim: 64, latentKV: false,
        window: 128)

    /// Every model `named(_:)` knows.
    public static let all: [ModelAttention] = [
        .deepSeekV3, .llama31_70B, .llama31_405B, .gptOss120B, .gptOss120BSliding,
    ]

    /// The model called `name`; `SimulatorError.invalidArgument` naming the known ones otherwise.
    public static func named(_ name: String) throws -> ModelAttention {
        guard let m = all.first(where: { $0.name == name.lowercased() }) else {
            throw SimulatorError.invalidArgument(
                "unknown model '\(name)' (known: \(all.map(\.name).joined(separator: ", ")))")
        }
        return m
    }

    /// The decode workload of this layer at `sequenceLength` cached tokens (at most `window` of them attended).
    public func workload(sequenceLength: Int, batch: Int = 1, dtype: String = "bf16") throws -> DecodeWorkload {
        try DecodeWorkload(
            sequenceLength: window.map { min($0, sequenceLength) } ?? sequenceLength, batch: batch, heads: heads,
            kvHeads: kvHeads, headDim: headDim, dtype: dtype, valueDim: valueDim, latentKV: latentKV)
    }
}
