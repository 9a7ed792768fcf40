/// Q, K and V in the (batch, heads, seq, dim) layout, with their shapes checked against each other.
/// Q is (B, Hq, Sq, Dqk), K is (B, Hkv, Sk, Dqk), V is (B, Hkv, Sk, Dv); Hq must be a multiple of Hkv (GQA/MQA).
public struct AttentionInputs<Scalar: AttentionScalar>: Sendable {
    public let q: Tensor<Scalar>
    public let k: Tensor<Scalar>
    public let v: Tensor<Scalar>

    public var batch: Int { q.shape[0] }
    public var queryHeads: Int { q.shape[1] }
    public var kvHeads: Int { k.shape[1] }
    public var queries: Int { q.shape[2] }
    public var keys: Int { k.shape[2] }
    public var headDim: Int { q.shape[3] }
    public var valueDim: Int { v.shape[3] }
    /// Query heads per KV head: head h reads KV head h / groupSize.
    public var groupSize: Int { queryHeads / kvHeads }

    public init(q: Tensor<Scalar>, k: Tensor<Scalar>, v: Tensor<Scalar>) throws {
        for (name, t) in [("q", q), ("k", k), ("v", v)] where t.rank != 4 {
            throw ReferenceError.shape("\(name) must have rank 4 (batch, heads, seq, dim), got shape \(t.shape)")
        }
        guard k.shape[0] == q.shape[0], v.shape[0] == q.shape[0] else {
            throw ReferenceError.shape("batch sizes differ: q \(q.shape[0]), k \(k.shape[0]), v \(v.shape[0])")
        }
        guard k.shape[1] == v.shape[1] else {
            throw ReferenceError.shape("k has \(k.shape[1]) heads but v has \(v.shape[1])")
        }
        guard k.shape[1] > 0, q.shape[1] % k.shape[1] == 0 else {
            throw ReferenceError.shape("query heads (\(q.shape[1])) must be a multiple of KV heads (\(k.shape[1]))")
        }
        guard k.shape[2] == v.shape[2] else {
            throw ReferenceError.shape("k has \(k.shape[2]) keys but v has \(v.shape[2])")
        }
        guard k.shape[3] == q.shape[3] else {
            throw ReferenceError.shape("q head dim \(q.shape[3]) differs from k head dim \(k.shape[3])")
        }
        guard q.shape[3] > 0, v.shape[3] > 0 else {
            throw ReferenceError.shape("head dims must be positive (q \(q.shape[3]), v \(v.shape[3]))")
        }
        self.q = q
        self.k = k
        self.v = v
    }
}
