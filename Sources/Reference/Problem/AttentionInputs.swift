/// Q, K and V in the (batch, heads, seq, dim) layout, with their shapes checked against each other.
/// Q is (B, Hq, Sq, Dqk), K is (B, Hkv, Sk, Dqk), V is (B, Hkv, Sk, Dv); Hq must be a multiple of Hkv (GQA/MQA).
public struct AttentionInputs<Scalar: AttentionScalar>: Sendable {
    /// Queries, (batch, query heads, seq_q, head dim).
    public let q: Tensor<Scalar>
    /// Keys, (batch, KV heads, seq_k, head dim).
    public let k: Tensor<Scalar>
    /// Values, (batch, KV heads, seq_k, value dim).
    public let v: Tensor<Scalar>

    // batch, queryHeads, kvHeads, queries, keys, headDim, valueDim and groupSize: from `AttentionOperands`.
    /// Checks the shapes against each other; throws `ReferenceError.shape` naming the first mismatch.
    public init(q: Tensor<Scalar>, k: Tensor<Scalar>, v: Tensor<Scalar>) throws {
        try Self.checkShapes(q: q.shape, k: k.shape, v: v.shape)
        self.q = q
        self.k = k
        self.v = v
    }

    /// The shape rules every storage of Q, K and V follows (see the type's doc comment).
    static func checkShapes(q: [Int], k: [Int], v: [Int]) throws {
        for (name, t) in [("q", q), ("k", k), ("v", v)] where t.count != 4 {
            throw ReferenceError.shape("\(name) must have rank 4 (batch, heads, seq, dim), got shape \(t)")
        }
        guard k[0] == q[0], v[0] == q[0] else {
            throw ReferenceError.shape("batch sizes differ: q \(q[0]), k \(k[0]), v \(v[0])")
        }
        guard k[1] == v[1] else {
            throw ReferenceError.shape("k has \(k[1]) heads but v has \(v[1])")
        }
        guard k[1] > 0, q[1] % k[1] == 0 else {
            throw ReferenceError.shape("query heads (\(q[1])) must be a multiple of KV heads (\(k[1]))")
        }
        guard k[2] == v[2] else {
            throw ReferenceError.shape("k has \(k[2]) keys but v has \(v[2])")
        }
        guard k[3] == q[3] else {
            throw ReferenceError.shape("q head dim \(q[3]) differs from k head dim \(k[3])")
        }
        guard q[3] > 0, v[3] > 0 else {
            throw ReferenceError.shape("head dims must be positive (q \(q[3]), v \(v[3]))")
        }
    }
}
