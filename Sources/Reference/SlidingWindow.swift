/// FlashAttention's local window: query i sees keys in [i + Sk - Sq - left, i + Sk - Sq + right], inclusive.
/// A negative bound (-1) means unbounded on that side; causal bottom-right equals (left: -1, right: 0).
public struct SlidingWindow: Equatable, Sendable {
    public var left: Int
    public var right: Int
    public init(left: Int, right: Int) {
        self.left = left
        self.right = right
    }
}
