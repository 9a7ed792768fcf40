import RealModule

/// The resolved rule for one problem: which keys each (batch, head, query) row may see and how a raw dot product
/// becomes a score (scale, softcap, ALiBi, additive mask). Shared by the BLAS kernel, the energy and the learner views.
public struct ScoreRule: Sendable {
    /// The softmax scale: the option, or 1/sqrt(head dim).
    public let scale: Double
    /// Sq, the queries per head.
    public let queries: Int
    /// Sk, the keys per head (before cache lengths).
    public let keys: Int
    let options: AttentionOptions
    /// The window's bounds with every bound at least as wide as the keys made unbounded (nil), so positions never
    /// meet a huge bound in arithmetic: a window wider than the keys is the same as no bound on that side.
    let windowLeft: Int?
    let windowRight: Int?

    /// Resolves and validates `options` for a problem of the given sizes.
    public init(options: AttentionOptions, batch: Int, queryHeads: Int, queries: Int, keys: Int, headDim: Int) throws {
        if let s = options.scale, !s.isFinite {
            throw ReferenceError.invalidOption("scale must be finite, got \(s)")
        }
        if let c = options.softcap, !(c.isFinite && c > 0) {
            throw ReferenceError.invalidOption("softcap must be a positive finite number, got \(c)")
        }
        if let w = options.window, w.left < -1 || w.right < -1 {
            throw ReferenceError.invalidOption("window bounds must be >= -1 (unbounded), got (\(w.left), \(w.right))")
        }
        if let slopes = options.alibiSlopes {
            guard slopes.count == queryHeads else {
                throw ReferenceError.invalidOption(
                    "ALiBi needs one slope per query head (\(queryHeads)), got \(slopes.count)")
            }
            guard slopes.allSatisfy(\.isFinite) else {
                throw ReferenceError.invalidOption("ALiBi slopes must be finite")
            }
        }
        if let lens = options.cacheSeqlens {
            guard lens.count == batch else {
                throw ReferenceError.invalidOption(
                    "cache_seqlens needs one length per batch row (\(batch)), got \(lens.count)")
            }
            if let bad = lens.first(where: { $0 < 0 || $0 > keys }) {
                throw ReferenceError.invalidOption("cache_seqlens entry \(bad) outside 0...\(keys)")
            }
        }
        if let m = options.mask {
            _ = try BroadcastMask(m.tensor, batch: batch, heads: queryHeads, queries: queries, keys: keys)
        }
        if let m = options.additiveMask {
            _ = try BroadcastMask(m.tensor, batch: batch, heads: queryHeads, queries: queries, keys: keys)
        }
        guard queries >= 0, keys >= 0, !queries.addingReportingOverflow(keys).overflow else {
            throw ReferenceError.shape("\(queries) queries and \(keys) keys are out of range")
        }
        // Query i sees keys from diagonal - left to diagonal + right, diagonal = i + sk - Sq in [-Sq, Sk]: a left bound
        // >= Sk or a right bound >= Sq + Sk excludes nothing, so it is unbounded (and never overflows below).
        if let w = options.window {
            windowLeft = w.left < 0 || w.left >= keys ? nil : w.left
            windowRight = w.right < 0 || w.right >= queries + keys ? nil : w.right
        } else {
            windowLeft = nil
            windowRight = nil
        }
        self.scale = options.scale ?? 1 / Double(headDim).squareRoot()
        self.queries = queries
        self.keys = keys
        self.options = options
    }

    /// Number of valid keys of a batch row (cache length or Sk).
    @inline(__always)
    public func validKeys(batch: Int) -> Int { options.cacheSeqlens?[batch] ?? keys }

    /// The inclusive-exclusive key interval [lo, hi) allowed by cache length, causality and the window for one query.
    /// Element-wise masks may exclude more keys inside it.
    @inline(__always)
    public func keyInterval(batch: Int, query i: Int) -> Range<Int> {
        let sk = validKeys(batch: batch)
        var lo = 0, hi = sk  // exclusive hi
        switch options.causal {
        case .none: break
        case .topLeft: hi = min(hi, i + 1)
        case .bottomRight: hi = min(hi, i + sk - queries + 1)
        }
        // All terms are bounded by Sq + Sk (window bounds are clamped in init), so nothing here can overflow.
        let diagonal = i + sk - queries
        if let left = windowLeft { lo = max(lo, diagonal - left) }
        if let right = windowRight { hi = min(hi, diagonal + right + 1) }
        return lo < hi ? lo..<hi : 0..<0
    }

    /// True when element-wise masks or biases exist, so per-key checks are needed inside the interval.
    public var hasElementwiseTerms: Bool {
        options.mask != nil || options.additiveMask != nil || options.alibiSlopes != nil || options.softcap != nil
    }

    /// Turns a scaled dot product (scale * q.k) into the final score, or nil when the key is excluded.
    /// The caller has already checked the key lies in `keyInterval`.
    @inline(__always)
    public func score(scaledDot s: Double, batch: Int, head: Int, query i: Int, key j: Int) -> Double? {
        if let m = options.mask, !m.tensor.data[m.rowOffset(batch: batch, head: head, query: i) + j] { return nil }
        var x = s
        if let c = options.softcap { x = c * PortableMath.tanh(x / c) }
        if let slopes = options.alibiSlopes {
            let distance = i + validKeys(batch: batch) - queries - j
            x -= slopes[head] * Double(abs(distance))
        }
        if let a = options.additiveMask {
            let bias = a.tensor.data[a.rowOffset(batch: batch, head: head, query: i) + j]
            if bias == -.infinity { return nil }
            x += bias
        }
        return x
    }
}

extension ScoreRule {
    /// False when an element-wise mask excludes the key (boolean mask false, additive mask -inf).
    /// Interval constraints (cache length, causality, window) are checked with `keyInterval`.
    @inline(__always)
    public func passesElementwiseMasks(batch: Int, head: Int, query i: Int, key j: Int) -> Bool {
        if let m = options.mask, !m.tensor.data[m.rowOffset(batch: batch, head: head, query: i) + j] { return false }
        if let a = options.additiveMask,
            a.tensor.data[a.rowOffset(batch: batch, head: head, query: i) + j] == -.infinity
        {
            return false
        }
        return true
    }

    /// True when query i of (batch, head) sees key j at all.
    @inline(__always)
    public func isVisible(batch: Int, head: Int, query i: Int, key j: Int) -> Bool {
        keyInterval(batch: batch, query: i).contains(j)
            && passesElementwiseMasks(batch: batch, head: head, query: i, key: j)
    }
}
