/// The gradients of attention for an upstream gradient dO: dQ (B, Hq, Sq, Dqk), dK (B, Hkv, n, Dqk) and
/// dV (B, Hkv, n, Dv), where n is the number of keys they cover (all Sk for a full backward, a shard's keys for a
/// shard's share). With GQA/MQA, dK and dV of a KV head are summed over the query heads of its group.
public struct AttentionGradients<Scalar: AttentionScalar>: Sendable {
    /// Gradient of the queries, (batch, query heads, seq_q, head dim).
    public var dq: Tensor<Scalar>
    /// Gradient of the keys, (batch, KV heads, n, head dim).
    public var dk: Tensor<Scalar>
    /// Gradient of the values, (batch, KV heads, n, value dim).
    public var dv: Tensor<Scalar>
    /// Gradient of the sink logits, (query heads), when the problem has sinks and the gradients cover all keys (a
    /// shard's share has none: the sinks belong to no shard).
    public var dsinks: Tensor<Scalar>?

    /// Gradients from their tensors (shapes not checked).
    public init(dq: Tensor<Scalar>, dk: Tensor<Scalar>, dv: Tensor<Scalar>, dsinks: Tensor<Scalar>? = nil) {
        (self.dq, self.dk, self.dv, self.dsinks) = (dq, dk, dv, dsinks)
    }

    /// All-zero gradients for Q's shape and `keys` keys of K and V's shapes.
    static func zeros(q: [Int], k: [Int], v: [Int], keys: Int) -> AttentionGradients {
        AttentionGradients(
            dq: Tensor(shape: q, repeating: 0), dk: Tensor(shape: [k[0], k[1], keys, k[3]], repeating: 0),
            dv: Tensor(shape: [v[0], v[1], keys, v[3]], repeating: 0))
    }
}
