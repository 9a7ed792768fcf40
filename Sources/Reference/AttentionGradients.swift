/// The gradients of attention for an upstream gradient dO: dQ (B, Hq, Sq, Dqk), dK (B, Hkv, n, Dqk) and
/// dV (B, Hkv, n, Dv), where n is the number of keys they cover (all Sk for a full backward, a shard's keys for a
/// shard's share). With GQA/MQA, dK and dV of a KV head are summed over the query heads of its group.
public struct AttentionGradients<Scalar: AttentionScalar>: Sendable {
    public var dq: Tensor<Scalar>
    public var dk: Tensor<Scalar>
    public var dv: Tensor<Scalar>

    public init(dq: Tensor<Scalar>, dk: Tensor<Scalar>, dv: Tensor<Scalar>) {
        (self.dq, self.dk, self.dv) = (dq, dk, dv)
    }

    /// All-zero gradients for Q's shape and `keys` keys of K and V's shapes.
    static func zeros(q: [Int], k: [Int], v: [Int], keys: Int) -> AttentionGradients {
        AttentionGradients(dq: Tensor(shape: q, repeating: 0), dk: Tensor(shape: [k[0], k[1], keys, k[3]], repeating: 0),
                           dv: Tensor(shape: [v[0], v[1], keys, v[3]], repeating: 0))
    }
}
