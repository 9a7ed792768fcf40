/// FlashAttention's local window: query i sees keys in [i + Sk - Sq - left, i + Sk - Sq + right], inclusive.
/// A negative bound (-1) means unbounded on that side; causal bottom-right equals (left: -1, right: 0).
public struct SlidingWindow: Equatable, Sendable {
    /// Keys visible before the diagonal; -1 means unbounded.
    public var left: Int
    /// Keys visible after the diagonal; -1 means unbounded.
    public var right: Int
    /// A window of `left` keys before and `right` keys after the diagonal (checked when the options are resolved).
    public init(left: Int, right: Int) {
        self.left = left
        self.right = right
    }
}
