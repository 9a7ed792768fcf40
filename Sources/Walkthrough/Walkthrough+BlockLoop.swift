import Foundation

extension Walkthrough {
    /// FlashAttention's running state after one block of a shard's keys: the online softmax keeps a running max m,
    /// a running sum l of exp(s_j - m) and an unnormalised accumulator of exp(s_j - m) v_j; a new block with a larger
    /// max rescales both by exp(m_old - m_new) before adding its own terms. The shard's partial is the state after
    /// its last block.
    public struct BlockState: Codable, Sendable {
        /// The block's key range as [first, end).
        public var keys: [Int]
        /// The largest score in the block (-inf when every key of it is masked).
        public var blockMax: Double
        /// The running max m after the block (-inf while no key was seen).
        public var max: Double
        /// exp(m_old - m_new), the factor the earlier sum and accumulator were rescaled by (1 while m is -inf).
        public var rescale: Double
        /// The running sum l after the block.
        public var sum: Double
        /// The running output accumulator / l after the block (0 while l is 0).
        public var output: [Double]
    }

    /// The block loop over `keys` (a shard) in blocks of `blockSize`, by plain loops over the scores and values.
    static func blockLoop(scores: [Double], values: [[Double]], keys: Range<Int>, blockSize: Int) -> [BlockState] {
        let d = values.first?.count ?? 0
        var m = -Double.infinity, l = 0.0
        var acc = [Double](repeating: 0, count: d)
        return stride(from: keys.lowerBound, to: keys.upperBound, by: blockSize).map { first in
            let block = first..<min(first + blockSize, keys.upperBound)
            let blockMax = scores[block].max()!
            let newMax = Swift.max(m, blockMax)
            let rescale = newMax == -.infinity ? 1 : Foundation.exp(m - newMax)
            l *= rescale
            for c in 0..<d { acc[c] *= rescale }
            if newMax > -.infinity {
                for j in block {
                    let e = Foundation.exp(scores[j] - newMax)
                    l += e
                    for c in 0..<d { acc[c] += e * values[j][c] }
                }
            }
            m = newMax
            return BlockState(
                keys: [block.lowerBound, block.upperBound], blockMax: blockMax, max: m, rescale: rescale, sum: l,
                output: acc.map { [l] in l > 0 ? $0 / l : 0 })
        }
    }
}
