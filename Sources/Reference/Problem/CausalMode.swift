/// Which causal alignment to apply, following PyTorch SDPA and FlashAttention.
public enum CausalMode: String, CaseIterable, Sendable {
    /// Every query sees every key.
    case none
    /// SDPA `is_causal`: query i sees keys j <= i.
    case topLeft = "top-left"
    /// FlashAttention / SDPA `causal_lower_right`: query i sees keys j <= i + Sk - Sq.
    case bottomRight = "bottom-right"
}
