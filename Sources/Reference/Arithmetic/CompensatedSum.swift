/// Neumaier's compensated summation: the error of a long f64 sum stays at a few ulps instead of growing with n.
public struct CompensatedSum: Sendable {
    private var sum = 0.0
    private var compensation = 0.0

    /// An empty sum (0).
    public init() {}

    /// Adds `x`, keeping its rounding error in the compensation term.
    @inline(__always)
    public mutating func add(_ x: Double) {
        let t = sum + x
        if abs(sum) >= abs(x) { compensation += (sum - t) + x } else { compensation += (x - t) + sum }
        sum = t
    }

    /// The sum with its compensation added.
    public var value: Double { sum + compensation }
}
