import RealModule

/// The log-sum-exp merge of partial attention results. (O_a, l_a) + (O_b, l_b): m = max(l_a, l_b),
/// w = exp(l - m), O = (w_a O_a + w_b O_b) / (w_a + w_b), l = m + log(w_a + w_b). Associative and commutative up to
/// rounding; the empty partial (0, -inf) is its identity; a row whose partials are all empty stays (0, -inf).
/// A NaN LSE (from NaN in unmasked inputs) propagates.
public enum MergeOperator {
    /// Merges `count` partial rows into `out`. `outputs[i]` points at a row of `valueDim` values, `lses[i]` is its LSE.
    @inlinable
    public static func mergeRow<S: AttentionScalar>(
        outputs: [UnsafePointer<S>], lses: [S], valueDim: Int, into out: UnsafeMutablePointer<S>
    ) -> S {
        var m = -S.infinity
        for l in lses {
            if l.isNaN {
                m = l
                break
            }
            if l > m { m = l }
        }
        if m.isNaN {
            for c in 0..<valueDim { out[c] = .nan }
            return .nan
        }
        if m == -.infinity {
            for c in 0..<valueDim { out[c] = 0 }
            return -.infinity
        }
        var weights = [S](repeating: 0, count: lses.count)
        var total: S = 0
        for (i, l) in lses.enumerated() where l != -.infinity {
            weights[i] = S.portableExp(l - m)
            total += weights[i]
        }
        for c in 0..<valueDim { out[c] = 0 }
        for (i, w) in weights.enumerated() where lses[i] != -.infinity {
            let row = outputs[i]
            let scaled = w / total
            for c in 0..<valueDim { out[c] += scaled * row[c] }
        }
        return m + S.portableLog(total)
    }

    /// Merges two partials of the same shape.
    public static func merge<S: AttentionScalar>(_ a: AttentionPartial<S>, _ b: AttentionPartial<S>) throws
        -> AttentionPartial<S>
    {
        try merge([a, b])
    }

    /// The n-ary merge, one log-sum-exp per row over all partials (in the order given). An empty list is an error.
    public static func merge<S: AttentionScalar>(_ parts: [AttentionPartial<S>]) throws -> AttentionPartial<S> {
        guard let first = parts.first else { throw ReferenceError.invalidOption("merge of zero partials") }
        for p in parts where p.output.shape != first.output.shape {
            throw ReferenceError.shape("cannot merge partials of shapes \(first.output.shape) and \(p.output.shape)")
        }
        if parts.count == 1 || first.rows == 0 { return first }
        let dv = first.valueDim
        var result = AttentionPartial<S>.empty(
            batch: first.output.shape[0], heads: first.output.shape[1], queries: first.output.shape[2], valueDim: dv)
        let buffers = parts.map { $0.output.data }
        result.output.data.withUnsafeMutableBufferPointer { out in
            withPointers(buffers) { bases in
                for row in 0..<first.rows {
                    result.lse.data[row] = mergeRow(
                        outputs: bases.map { $0 + row * dv }, lses: parts.map { $0.lse.data[row] },
                        valueDim: dv, into: out.baseAddress! + row * dv)
                }
            }
        }
        return result
    }
}

/// Calls `body` with stable base pointers of several arrays at once.
func withPointers<S, R>(_ arrays: [[S]], _ body: ([UnsafePointer<S>]) throws -> R) rethrows -> R {
    func recurse(_ index: Int, _ acc: [UnsafePointer<S>]) throws -> R {
        if index == arrays.count { return try body(acc) }
        return try arrays[index].withUnsafeBufferPointer { try recurse(index + 1, acc + [$0.baseAddress!]) }
    }
    return try recurse(0, [])
}
