import Foundation

@testable import Reference

/// The independent oracle of the tests: attention as plain f64 loops with compensated sums, masks written directly
/// from the spec (docs/reference-semantics.md), sharing no code with the kernel's ScoreRule.
struct NaiveOracle {
    struct Case {
        var b = 1, hq = 2, hkv = 2, sq = 3, sk = 7, d = 8, dv = 8
        var scale: Double? = nil
        var causal: CausalMode = .none
        var window: (Int, Int)? = nil
        var softcap: Double? = nil
        var alibi: [Double]? = nil
        var boolMask: [Bool]? = nil  // full (b, hq, sq, sk)
        var additive: [Double]? = nil  // full (b, hq, sq, sk)
        var seqlens: [Int]? = nil
        var seed: UInt64 = 1
        var std = 1.0
        var sinks: [Double]? = nil  // one logit per query head, in the softmax denominator with value 0
        var sinkTokens: Int? = nil  // StreamingLLM: the first k keys visible beside the window
        var leftpad: [Int]? = nil  // flash_attn_with_kvcache's cache_leftpad: keys before it excluded
        var chunk: Int? = nil  // attention_chunk: the query's chunk of keys only

        var options: AttentionOptions {
            var o = AttentionOptions(
                scale: scale, causal: causal, softcap: softcap, alibiSlopes: alibi, cacheSeqlens: seqlens,
                sinks: sinks, sinkTokens: sinkTokens)
            o.cacheLeftpad = leftpad
            o.attentionChunk = chunk
            if let w = window { o.window = SlidingWindow(left: w.0, right: w.1) }
            if let m = boolMask {
                o.mask = try! BroadcastMask(
                    Tensor(shape: [b, hq, sq, sk], data: m), batch: b, heads: hq, queries: sq, keys: sk)
            }
            if let a = additive {
                o.additiveMask = try! BroadcastMask(
                    Tensor(shape: [b, hq, sq, sk], data: a), batch: b, heads: hq, queries: sq, keys: sk)
            }
            return o
        }

        func inputs() -> AttentionInputs<Double> {
            var g = SeededGenerator(seed: seed)
            return try! AttentionInputs(
                q: Tensor(shape: [b, hq, sq, d], data: g.normals(b * hq * sq * d, std: std)),
                k: Tensor(shape: [b, hkv, sk, d], data: g.normals(b * hkv * sk * d, std: std)),
                v: Tensor(shape: [b, hkv, sk, dv], data: g.normals(b * hkv * sk * dv)))
        }
    }

    /// Neumaier sum, written again here so the oracle shares nothing with the library.
    static func sum(_ xs: [Double]) -> Double {
        var s = 0.0, c = 0.0
        for x in xs {
            let t = s + x
            c += abs(s) >= abs(x) ? (s - t) + x : (x - t) + s
            s = t
        }
        return s + c
    }

    static func visible(_ c: Case, b: Int, h: Int, i: Int, j: Int) -> Bool {
        let skb = c.seqlens?[b] ?? c.sk
        let pad = c.leftpad?[b] ?? 0
        if j >= skb || j < pad { return false }
        switch c.causal {
        case .none: break
        case .topLeft: if j - pad > i { return false }
        case .bottomRight: if j > i + skb - c.sq { return false }
        }
        if let size = c.chunk {
            // The query's position from the first valid key, and its chunk (floor division).
            let p = i + skb - c.sq - pad
            let start = pad + Int((Double(p) / Double(size)).rounded(.down)) * size
            if j < start || j >= start + size { return false }
        }
        // A sink token (j < k) is visible whatever the window; cache length and causality apply to it as to any key.
        let sinkToken = j < (c.sinkTokens ?? 0)
        if let (l, r) = c.window, !sinkToken {
            if l >= 0, j < i + skb - c.sq - l { return false }
            if r >= 0, j > i + skb - c.sq + r { return false }
        }
        let flat = ((b * c.hq + h) * c.sq + i) * c.sk + j
        if let m = c.boolMask, !m[flat] { return false }
        if let a = c.additive, a[flat] == -.infinity { return false }
        return true
    }

    /// Returns (output (b,hq,sq,dv), lse (b,hq,sq)) computed row by row; the sink (a score z_h whose value is 0)
    /// counts when `keys` is nil.
    static func attention(_ c: Case, _ x: AttentionInputs<Double>, keys: Range<Int>? = nil) -> ([Double], [Double]) {
        var out = [Double](repeating: 0, count: c.b * c.hq * c.sq * c.dv)
        var lse = [Double](repeating: -.infinity, count: c.b * c.hq * c.sq)
        let scale = c.scale ?? 1 / Double(c.d).squareRoot()
        let group = c.hq / c.hkv
        for b in 0..<c.b {
            for h in 0..<c.hq {
                for i in 0..<c.sq {
                    let kv = h / group
                    var scores: [(Int, Double)] = []
                    for j in keys ?? 0..<c.sk where visible(c, b: b, h: h, i: i, j: j) {
                        let dot = sum((0..<c.d).map { x.q[b, h, i, $0] * x.k[b, kv, j, $0] })
                        var s = scale * dot
                        if let cap = c.softcap { s = cap * tanh(s / cap) }
                        if let slopes = c.alibi { s -= slopes[h] * Double(abs(i + (c.seqlens?[b] ?? c.sk) - c.sq - j)) }
                        if let a = c.additive { s += a[((b * c.hq + h) * c.sq + i) * c.sk + j] }
                        scores.append((j, s))
                    }
                    let row = (b * c.hq + h) * c.sq + i
                    let sink = keys == nil ? c.sinks?[h] : nil
                    guard let m = (scores.map(\.1) + (sink.map { [$0] } ?? [])).max() else { continue }
                    let weights = scores.map { exp($0.1 - m) }
                    let total = sum(weights + (sink.map { [exp($0 - m)] } ?? []))
                    lse[row] = m + log(total)
                    for e in 0..<c.dv {
                        out[row * c.dv + e] = sum(zip(scores, weights).map { $1 * x.v[b, kv, $0.0, e] }) / total
                    }
                }
            }
        }
        return (out, lse)
    }
}

/// max |a - b| / max(1, max |b|) over finite entries; -inf entries must match exactly (returns inf otherwise).
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0, scale = 1.0
    for y in b where y.isFinite { scale = max(scale, abs(y)) }
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN {
            if !(x.isNaN && y.isNaN) { return .infinity }
            continue
        }
        if !x.isFinite || !y.isFinite {
            if x != y { return .infinity }
            continue
        }
        worst = max(worst, abs(x - y))
    }
    return worst / scale
}

extension NaiveOracle {
    /// Gradients of L = sum dO . O as plain loops from the textbook formulas, compensated sums throughout:
    /// P_ij = exp(s_ij - lse_i), D_i = sum_j P_ij (dO_i . v_j), dS_ij = P_ij (dO_i . v_j - D_i) * (1 - tanh^2(t/c)),
    /// dV_j = sum_i P_ij dO_i, dQ_i = scale sum_j dS_ij k_j, dK_j = scale sum_i dS_ij q_i. Returns (dq, dk, dv).
    static func gradients(_ c: Case, _ x: AttentionInputs<Double>, dO: [Double]) -> ([Double], [Double], [Double]) {
        let g = gradients(c, x, dO: dO, dlse: nil)
        return (g.dq, g.dk, g.dv)
    }

    /// The same with the sink (its P_sink = exp(z_h - lse_i) in the denominator) and an upstream gradient of the LSE
    /// (L = sum dO . O + sum dlse . lse: dS_ij gains P_ij dlse_i); dsinks_h = sum_i P_sink,i (dlse_i - D_i).
    static func gradients(_ c: Case, _ x: AttentionInputs<Double>, dO: [Double], dlse: [Double]?) -> (
        dq: [Double], dk: [Double], dv: [Double], dsinks: [Double]
    ) {
        var dsinkTerms = [[Double]](repeating: [], count: c.hq)
        let scale = c.scale ?? 1 / Double(c.d).squareRoot()
        let group = c.hq / c.hkv
        var dqTerms = [[Double]](repeating: [], count: c.b * c.hq * c.sq * c.d)
        var dkTerms = [[Double]](repeating: [], count: c.b * c.hkv * c.sk * c.d)
        var dvTerms = [[Double]](repeating: [], count: c.b * c.hkv * c.sk * c.dv)
        for b in 0..<c.b {
            for h in 0..<c.hq {
                for i in 0..<c.sq {
                    let kv = h / group
                    let row = (b * c.hq + h) * c.sq + i
                    var terms: [(j: Int, t: Double, s: Double)] = []
                    for j in 0..<c.sk where visible(c, b: b, h: h, i: i, j: j) {
                        let t = scale * sum((0..<c.d).map { x.q[b, h, i, $0] * x.k[b, kv, j, $0] })
                        var s = t
                        if let cap = c.softcap { s = cap * tanh(s / cap) }
                        if let slopes = c.alibi { s -= slopes[h] * Double(abs(i + (c.seqlens?[b] ?? c.sk) - c.sq - j)) }
                        if let a = c.additive { s += a[row * c.sk + j] }
                        terms.append((j, t, s))
                    }
                    let sink = c.sinks?[h]
                    let all = terms.map(\.s) + (sink.map { [$0] } ?? [])
                    guard let m = all.max() else { continue }
                    let lse = m + log(sum(all.map { exp($0 - m) }))
                    let p = terms.map { exp($0.s - lse) }
                    let dOv = terms.map { term in sum((0..<c.dv).map { dO[row * c.dv + $0] * x.v[b, kv, term.j, $0] }) }
                    let dRow = sum(zip(p, dOv).map(*))
                    let up = dlse?[row] ?? 0
                    if let sink { dsinkTerms[h].append(exp(sink - lse) * (up - dRow)) }
                    for (n, term) in terms.enumerated() {
                        var ds = p[n] * (dOv[n] - dRow + up)
                        if let cap = c.softcap { ds *= 1 - pow(tanh(term.t / cap), 2) }
                        let kvRow = (b * c.hkv + kv) * c.sk + term.j
                        for e in 0..<c.dv { dvTerms[kvRow * c.dv + e].append(p[n] * dO[row * c.dv + e]) }
                        for e in 0..<c.d {
                            dqTerms[row * c.d + e].append(scale * ds * x.k[b, kv, term.j, e])
                            dkTerms[kvRow * c.d + e].append(scale * ds * x.q[b, h, i, e])
                        }
                    }
                }
            }
        }
        return (dqTerms.map(sum), dkTerms.map(sum), dvTerms.map(sum), c.sinks == nil ? [] : dsinkTerms.map(sum))
    }

    /// A seeded upstream gradient dO of the output's shape.
    static func upstream(_ c: Case, seed: UInt64 = 7) -> Tensor<Double> {
        var g = SeededGenerator(seed: seed)
        return try! Tensor(shape: [c.b, c.hq, c.sq, c.dv], data: g.normals(c.b * c.hq * c.sq * c.dv))
    }
}
