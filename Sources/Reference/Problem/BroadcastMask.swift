/// A per-(batch, head, query, key) array that broadcasts like NumPy: rank 2 (Sq, Sk) or rank 4 (B|1, H|1, Sq|1, Sk).
/// Used for boolean masks (true = the key takes part) and additive float masks.
public struct BroadcastMask<Element: Sendable>: Sendable {
    /// The mask as given: rank 2 (Sq, Sk) or rank 4 (B|1, H|1, Sq|1, Sk).
    public let tensor: Tensor<Element>
    let strideB: Int, strideH: Int, strideQ: Int

    /// Validates that `tensor` broadcasts to (batch, heads, queries, keys).
    public init(_ tensor: Tensor<Element>, batch: Int, heads: Int, queries: Int, keys: Int) throws {
        var shape = tensor.shape
        if shape.count == 2 { shape = [1, 1] + shape }
        guard shape.count == 4 else {
            throw ReferenceError.shape("mask must have rank 2 (Sq, Sk) or 4 (B, H, Sq, Sk), got shape \(tensor.shape)")
        }
        let want = [batch, heads, queries, keys]
        for axis in 0..<3 where !(shape[axis] == want[axis] || shape[axis] == 1) {
            throw ReferenceError.shape("mask shape \(tensor.shape) does not broadcast to \(want)")
        }
        guard shape[3] == keys else {
            throw ReferenceError.shape("mask shape \(tensor.shape) must have Sk = \(keys) as its last axis")
        }
        self.tensor = tensor
        strideQ = shape[2] == 1 ? 0 : keys
        strideH = shape[1] == 1 ? 0 : shape[2] * keys
        strideB = shape[0] == 1 ? 0 : shape[1] * shape[2] * keys
    }

    /// The flat offset of key 0 in the row of (batch, head, query).
    @inline(__always)
    func rowOffset(batch: Int, head: Int, query: Int) -> Int {
        batch * strideB + head * strideH + query * strideQ
    }
}
