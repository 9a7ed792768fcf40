/// What one simulated step runs: the decode forward (the paper's setting, the default), the backward of that
/// attention given the forward's state, or a training step (forward, then backward, on each rank as soon as its own
/// forward part is done). docs/simulator.md, "Backward step", gives the model.
public enum DecodeStep: String, Sendable, CaseIterable, Codable {
    /// One decode step: the strategy's forward (Algorithm 3, the K/V ring, ...).
    case forward
    /// The backward of one decode step: every rank holds the global log-sum-exp, the output O and its gradient dO
    /// (replicated queries); dK and dV stay with the keys' owner, dQ is summed over the ranks.
    case backward
    /// The forward followed by the backward, in one run.
    case training

    /// Whether the step runs the backward.
    public var includesBackward: Bool { self != .forward }
}
