import RealModule

/// The paper's Algorithm 3 (what Tree Attention runs for decoding), in its own arithmetic: m = max_i lse_i
/// (all-reduce max), n = sum_i o_i exp(lse_i - m), d = sum_i exp(lse_i - m) (all-reduce sums), z = n / d.
/// Returns z and lse = m + log d. Shards with lse = -inf (no keys) contribute nothing; all-empty rows give (0, -inf).
public enum Algorithm3 {
    /// Combines shard partials of one shape; throws `ReferenceError.invalidOption` for no partials and
    /// `ReferenceError.shape` when their shapes differ.
    public static func combine<S: AttentionScalar>(_ parts: [AttentionPartial<S>]) throws -> AttentionPartial<S> {
        guard let first = parts.first else {
            throw ReferenceError.invalidOption("Algorithm 3 needs at least one partial")
        }
        for p in parts where p.output.shape != first.output.shape {
            throw ReferenceError.shape("cannot combine partials of shapes \(first.output.shape) and \(p.output.shape)")
        }
        let dv = first.valueDim
        var result = AttentionPartial<S>.empty(
            batch: first.output.shape[0], heads: first.output.shape[1],
            queries: first.output.shape[2], valueDim: dv)
        // Step 3: the max all-reduce.
        var m = [S](repeating: -.infinity, count: first.rows)
        for p in parts {
            for row in 0..<first.rows {
                let l = p.lse.data[row]
                if l.isNaN || m[row].isNaN { m[row] = .nan } else if l > m[row] { m[row] = l }
            }
        }
        // Steps 4-5: local numerators and denominators, then the sum all-reduces (in shard order).
        var numerator = [S](repeating: 0, count: first.rows * dv)
        var denominator = [S](repeating: 0, count: first.rows)
        for p in parts {
            for row in 0..<first.rows where p.lse.data[row] != -.infinity && m[row] != -.infinity {
                let w = S.portableExp(p.lse.data[row] - m[row])
                denominator[row] += w
                for c in 0..<dv { numerator[row * dv + c] += w * p.output.data[row * dv + c] }
            }
        }
        // Step 6: z = n / d.
        for row in 0..<first.rows {
            if m[row] == -.infinity { continue }
            for c in 0..<dv { result.output.data[row * dv + c] = numerator[row * dv + c] / denominator[row] }
            result.lse.data[row] = m[row] + S.portableLog(denominator[row])
        }
        return result
    }
}
