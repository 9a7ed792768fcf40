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
    /// StreamingLLM sink tokens that can fall outside a window (0 without a left window bound).
    let sinkTokens: Int

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
        if let sinks = options.sinks {
            guard sinks.count == queryHeads else {
                throw ReferenceError.invalidOption(
                    "sinks need one logit per query head (\(queryHeads)), got \(sinks.count)")
            }
            guard sinks.allSatisfy(\.isFinite) else { throw ReferenceError.invalidOption("sinks must be finite") }
        }
        if let pads = options.cacheLeftpad {
            guard pads.count == batch else {
                throw ReferenceError.invalidOption(
                    "cache_leftpad needs one entry per batch row (\(batch)), got \(pads.count)")
            }
            for (b, pad) in pads.enumerated() where pad < 0 || pad > (options.cacheSeqlens?[b] ?? keys) {
                throw ReferenceError.invalidOption(
                    "cache_leftpad entry \(pad) of batch row \(b) outside 0...\(options.cacheSeqlens?[b] ?? keys) (its valid keys)"
                )
            }
        }
        if (options.sinkTokens ?? 0) > 0, options.cacheLeftpad != nil {
            throw ReferenceError.invalidOption(
                "sink tokens with cache_leftpad are not supported (which keys would sink?)")
        }
        if let c = options.attentionChunk, c < 1 {
            throw ReferenceError.invalidOption("attention chunk must be >= 1, got \(c)")
        }
        if let n = options.sinkTokens, n < 0 {
            throw ReferenceError.invalidOption("sink tokens must be >= 0, got \(n)")
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
        // Sink tokens matter only where a window's left edge can pass them; at least as many as the keys, all are.
        let tokens = min(options.sinkTokens ?? 0, keys)
        sinkTokens = windowLeft == nil ? 0 : tokens
        self.scale = options.scale ?? 1 / Double(headDim).squareRoot()
        self.queries = queries
        self.keys = keys
        self.options = options
    }

    /// Number of valid keys of a batch row (cache length or Sk).
    @inline(__always)
    public func validKeys(batch: Int) -> Int { options.cacheSeqlens?[batch] ?? keys }

    /// The inclusive-exclusive key interval [lo, hi) allowed by cache length, causality and the window for one query,
    /// widened to start at key 0 when sink tokens stay visible before the window (the keys between them and the window
    /// are then excluded element-wise). Element-wise masks may exclude more keys inside it.
    @inline(__always)
    public func keyInterval(batch: Int, query i: Int) -> Range<Int> {
        let window = windowInterval(batch: batch, query: i)
        guard sinkTokens > 0 else { return window }
        let sinkEnd = min(sinkHi(batch: batch, query: i), sinkTokens)
        let hi = window.isEmpty ? sinkEnd : max(sinkEnd, window.upperBound)
        return 0..<hi
    }

    /// The keys below `hi` that the causal alignment and the cache length allow: the bound sink tokens share.
    @inline(__always)
    func sinkHi(batch: Int, query i: Int) -> Int {
        let sk = validKeys(batch: batch)
        switch options.causal {
        case .none: return sk
        case .topLeft: return min(sk, i + 1)
        case .bottomRight: return max(0, min(sk, i + sk - queries + 1))
        }
    }

    /// True for a key between the sink tokens and the window's left edge (hidden although inside `keyInterval`).
    @inline(__always)
    func inSinkGap(batch: Int, query i: Int, key j: Int) -> Bool {
        sinkTokens > 0 && j >= sinkTokens && j < windowInterval(batch: batch, query: i).lowerBound
    }

    /// Cache length, causality and window only (`keyInterval` without sink tokens).
    @inline(__always)
    func windowInterval(batch: Int, query i: Int) -> Range<Int> {
        let sk = validKeys(batch: batch)
        // Left padding: keys before it are excluded; bottom-right alignments keep their absolute diagonal (the
        // valid keys end at sk), top-left counts from the first valid key.
        let pad = options.cacheLeftpad?[batch] ?? 0
        var lo = pad, hi = sk  // exclusive hi
        switch options.causal {
        case .none: break
        case .topLeft: hi = min(hi, pad + i + 1)
        case .bottomRight: hi = min(hi, i + sk - queries + 1)
        }
        // All terms are bounded by Sq + Sk (window bounds are clamped in init), so nothing here can overflow.
        let diagonal = i + sk - queries
        if let left = windowLeft { lo = max(lo, diagonal - left) }
        if let right = windowRight { hi = min(hi, diagonal + right + 1) }
        // Chunked local attention (Llama 4's attention_chunk): the query at position p = diagonal - pad (from the
        // first valid key) sees only the keys of its chunk [floor(p / C) C, + C).
        if let c = options.attentionChunk {
            let p = diagonal - pad
            let start = pad + (p >= 0 ? p / c : -((-p + c - 1) / c)) * c
            lo = max(lo, start)
            hi = min(hi, start + c)
        }
        return lo < hi ? lo..<hi : 0..<0
    }

    /// True when element-wise masks or biases exist, so per-key checks are needed inside the interval.
    public var hasElementwiseTerms: Bool {
        options.mask != nil || options.additiveMask != nil || options.alibiSlopes != nil || options.softcap != nil
            || sinkTokens > 0
    }

    /// Turns a scaled dot product (scale * q.k) into the final score, or nil when the key is excluded.
    /// The caller has already checked the key lies in `keyInterval`.
    @inline(__always)
    public func score(scaledDot s: Double, batch: Int, head: Int, query i: Int, key j: Int) -> Double? {
        if inSinkGap(batch: batch, query: i, key: j) { return nil }
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
    /// False when an element-wise term excludes the key (boolean mask false, additive mask -inf, a key between the
    /// sink tokens and the window).
    /// Interval constraints (cache length, causality, window) are checked with `keyInterval`.
    @inline(__always)
    public func passesElementwiseMasks(batch: Int, head: Int, query i: Int, key j: Int) -> Bool {
        if inSinkGap(batch: batch, query: i, key: j) { return false }
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
