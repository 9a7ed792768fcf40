/// An attention result over some set of keys: the normalised output O (B, Hq, Sq, Dv) and its log-sum-exp
/// LSE (B, Hq, Sq), natural log. A full result is the partial over all keys; (0, -inf) is the empty partial.
public struct AttentionPartial<Scalar: AttentionScalar>: Sendable {
    /// The normalised output O, (batch, heads, seq_q, value dim).
    public var output: Tensor<Scalar>
    /// Each row's log-sum-exp of its scores (natural log), (batch, heads, seq_q); -inf for a row with no keys.
    public var lse: Tensor<Scalar>

    /// Throws `ReferenceError.shape` unless `output` is rank 4 and `lse`'s shape is its first three axes.
    public init(output: Tensor<Scalar>, lse: Tensor<Scalar>) throws {
        guard output.rank == 4, lse.rank == 3, Array(output.shape.prefix(3)) == lse.shape else {
            throw ReferenceError.shape(
                "partial output \(output.shape) and lse \(lse.shape) do not match (B,H,Sq,Dv)/(B,H,Sq)")
        }
        self.output = output
        self.lse = lse
    }

    /// The identity of the merge: output 0 and LSE -inf everywhere.
    public static func empty(batch: Int, heads: Int, queries: Int, valueDim: Int) -> AttentionPartial {
        try! AttentionPartial(
            output: Tensor(shape: [batch, heads, queries, valueDim], repeating: 0),
            lse: Tensor(shape: [batch, heads, queries], repeating: -.infinity))
    }

    /// Number of (batch, head, query) rows.
    public var rows: Int { lse.count }
    /// Dimension Dv of the output (axis 3).
    public var valueDim: Int { output.shape[3] }
}
