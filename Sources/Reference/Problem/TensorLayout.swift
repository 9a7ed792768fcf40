/// The axis order of attention inputs and outputs in files: the layout a command reads and writes (the kernels
/// themselves always compute in `bhsd`).
public enum TensorLayout: String, CaseIterable, Sendable {
    /// (batch, heads, seq, dim): PyTorch SDPA's order, the default.
    case bhsd
    /// (batch, seq, heads, dim): FlashAttention's order.
    case bshd

    /// The sequence axis of a rank-4 tensor in this layout (2 for bhsd, 1 for bshd): the axis a key shard cuts.
    public var sequenceAxis: Int { self == .bshd ? 1 : 2 }

    /// Whether tensors in this layout must swap axes 1 and 2 to become (batch, heads, seq, dim).
    public var swapsAxes: Bool { self == .bshd }
}
