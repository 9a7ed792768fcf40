import CKernels
import Foundation
import Testing

@testable import Reference

/// The kernel's own loops (CKernels) at every instruction set this CPU has, against libm and plain compensated loops.
/// (On a CPU without AVX2 both variants run the baseline and the checks still hold.)
@Suite struct VectorKernelTests {
    /// Arguments x - m from 0 down past the cutoff, plus the special values the softmax meets.
    static func arguments(lowest: Double) -> [Double] {
        let span: Double = 3 - lowest
        var xs: [Double] = (0..<20_011).map { (i: Int) -> Double in -Double(i) * span / 20_010 }
        xs.append(contentsOf: [-0.0, -1e-300, -0x1p-40, -Double.infinity])
        return xs
    }

    @Test(arguments: KernelISA.allCases)
    func f64ExpAndSumMatchLibm(_ isa: KernelISA) {
        var xs = Self.arguments(lowest: -708)
        let want: [Double] = xs.map { (x: Double) -> Double in x < -708 ? 0 : Foundation.exp(x) }
        let sum = xs.withUnsafeMutableBufferPointer {
            Double.expSum($0.baseAddress!, count: $0.count, minus: 0, isa: isa)
        }
        for (got, w) in zip(xs, want) {
            #expect(got == w || abs(got - w) <= 4e-16 * w, "exp: \(got) vs \(w)")
        }
        #expect(abs(sum - NaiveOracle.sum(want)) <= 1e-14 * NaiveOracle.sum(want))
        // NaN propagates; the subtraction of m happens inside.
        var row: [Double] = [1, .nan, 3]
        let s = row.withUnsafeMutableBufferPointer { Double.expSum($0.baseAddress!, count: 3, minus: 3, isa: isa) }
        #expect(s.isNaN && row[1].isNaN && abs(row[0] - Foundation.exp(-2)) < 1e-16)
    }

    /// The decode benchmark's ceiling loop (`tk_stream_fma`) does `rows` FMAs on every element, tails included: on
    /// small integers every partial sum is exact, so each instruction set returns exactly sum_r (r + 1) / 8 x sum x
    /// (rows 3 runs as 4).
    @Test(arguments: KernelISA.allCases)
    func streamFMADoesItsArithmeticOnEveryElement(isa: KernelISA) {
        let level = isa.level
        for n in [0, 1, 7, 8, 1003] {
            let x = (0..<n).map { Double($0 % 5) }, total = x.reduce(0, +)
            for (rows, used) in [(1, 1), (2, 2), (3, 4), (4, 4), (8, 8)] {
                let expected = (0..<used).reduce(0.0) { $0 + Double($1 + 1) / 8 } * total
                #expect(tk_stream_fma_f64(level, x, n, rows) == expected, "f64 n=\(n) rows=\(rows)")
                #expect(
                    Double(tk_stream_fma_f32(level, x.map(Float.init), n, rows)) == expected,
                    "f32 n=\(n) rows=\(rows)")
            }
        }
    }

    @Test func baselineF64ExpIsThePortableExp() {
        var xs = Self.arguments(lowest: -708)
        let want = xs.map(SoftmaxExp.exp)
        _ = xs.withUnsafeMutableBufferPointer {
            Double.expSum($0.baseAddress!, count: $0.count, minus: 0, isa: .baseline)
        }
        #expect(xs.map(\.bitPattern) == want.map(\.bitPattern))
    }

    @Test(arguments: KernelISA.allCases)
    func f32ExpAndSumMatchLibm(_ isa: KernelISA) {
        var xs = Self.arguments(lowest: -87.3).map(Float.init)
        let want: [Double] = xs.map { (x: Float) -> Double in x < -87.3 ? 0 : Foundation.exp(Double(x)) }
        let sum = xs.withUnsafeMutableBufferPointer {
            Float.expSum($0.baseAddress!, count: $0.count, minus: 0, isa: isa)
        }
        for (got, w) in zip(xs, want) {
            // Within 3 f32 ulps of the exact value (f32 unit roundoff 6e-8).
            #expect(Double(got) == w || abs(Double(got) - w) <= 3 * 0x1p-24 * w, "exp: \(got) vs \(w)")
        }
        #expect(abs(Double(sum) - NaiveOracle.sum(want)) <= 1e-5 * NaiveOracle.sum(want))
    }

    @Test(arguments: KernelISA.allCases)
    func maxFindsNaNAnywhere(_ isa: KernelISA) {
        for n in 0..<37 {
            let xs: [Double] = (0..<n).map { (i: Int) -> Double in Double((i * 7919) % 31) - 15 }
            let d = xs.withUnsafeBufferPointer { Double.rowMax($0.baseAddress!, count: n, isa: isa) }
            let f = xs.map(Float.init).withUnsafeBufferPointer { Float.rowMax($0.baseAddress!, count: n, isa: isa) }
            #expect(d == (xs.max() ?? -.infinity) && Double(f) == d, "n = \(n)")
            for at in 0..<n {
                var ys = xs
                ys[at] = .nan
                #expect(
                    ys.withUnsafeBufferPointer { Double.rowMax($0.baseAddress!, count: n, isa: isa) }.isNaN,
                    "n = \(n), NaN at \(at)")
                #expect(
                    ys.map(Float.init).withUnsafeBufferPointer { Float.rowMax($0.baseAddress!, count: n, isa: isa) }
                        .isNaN)
                var zs = xs
                zs[at] = .infinity
                #expect(zs.withUnsafeBufferPointer { Double.rowMax($0.baseAddress!, count: n, isa: isa) } == .infinity)
            }
        }
    }

    @Test func allFiniteSeesEveryNonFiniteValue() {
        for n in 1..<20 {
            for bad in [Double.nan, .infinity, -.infinity] {
                for at in 0..<n {
                    var xs = [Double](repeating: 1e308, count: n)
                    xs[at] = bad
                    #expect(!xs.withUnsafeBufferPointer { Double.allFinite($0.baseAddress!, count: n) })
                    #expect(!xs.map(Float.init).withUnsafeBufferPointer { Float.allFinite($0.baseAddress!, count: n) })
                }
            }
            let ok = [Double](repeating: -1.5, count: n)
            #expect(ok.withUnsafeBufferPointer { Double.allFinite($0.baseAddress!, count: n) })
        }
    }

    /// The few-row products against compensated loops, over row counts around the 2-row and 4-row register tiles,
    /// key counts around the 4-key step and the 16-key blocks, and head dims around the vector widths.
    @Test(arguments: KernelISA.allCases)
    func fewRowProductsMatchCompensatedLoops(_ isa: KernelISA) {
        var g = SeededGenerator(seed: 5)
        for rows in [1, 2, 3, 5, 8, 9, 16] {
            for keys in [1, 3, 4, 7, 64, 67, 130] {
                for d in [1, 3, 4, 8, 13, 16, 128] {
                    let q = g.normals(rows * d), k = g.normals(keys * d), v = g.normals(keys * d),
                        o0 = g.normals(rows * d)
                    var s = [Double](repeating: .nan, count: rows * keys)
                    var o = o0
                    q.withUnsafeBufferPointer { qb in
                        k.withUnsafeBufferPointer { kb in
                            s.withUnsafeMutableBufferPointer { sb in
                                Double.fewRowScores(
                                    q: qb.baseAddress!, rows: rows, d: d, k: kb.baseAddress!, keys: keys, alpha: 0.5,
                                    into: sb.baseAddress!, isa: isa)
                            }
                        }
                    }
                    s.withUnsafeBufferPointer { sb in
                        v.withUnsafeBufferPointer { vb in
                            o.withUnsafeMutableBufferPointer { ob in
                                Double.fewRowPV(
                                    p: sb.baseAddress!, rows: rows, keys: keys, v: vb.baseAddress!, dv: d,
                                    into: ob.baseAddress!, isa: isa)
                            }
                        }
                    }
                    var worst = 0.0
                    for r in 0..<rows {
                        for j in 0..<keys {
                            let terms: [Double] = (0..<d).map { (c: Int) -> Double in 0.5 * q[r * d + c] * k[j * d + c]
                            }
                            let scale: Double = terms.map(abs).reduce(0, +)
                            worst = max(worst, abs(s[r * keys + j] - NaiveOracle.sum(terms)) / max(scale, 1e-300))
                        }
                        for c in 0..<d {
                            var terms: [Double] = [o0[r * d + c]]
                            terms += (0..<keys).map { (j: Int) -> Double in s[r * keys + j] * v[j * d + c] }
                            let scale: Double = terms.map(abs).reduce(0, +)
                            worst = max(worst, abs(o[r * d + c] - NaiveOracle.sum(terms)) / max(scale, 1e-300))
                        }
                    }
                    // Error relative to the sum of |terms|: a few units of roundoff times log2 of the term count.
                    #expect(worst < 2e-15, "rows \(rows) keys \(keys) d \(d): \(worst)")
                    // f32: the same products on the rounded inputs, against the f64 products of those inputs.
                    let (qf, kf) = (q.map(Float.init), k.map(Float.init))
                    var sf = [Float](repeating: .nan, count: rows * keys)
                    qf.withUnsafeBufferPointer { qb in
                        kf.withUnsafeBufferPointer { kb in
                            sf.withUnsafeMutableBufferPointer { sb in
                                Float.fewRowScores(
                                    q: qb.baseAddress!, rows: rows, d: d, k: kb.baseAddress!, keys: keys, alpha: 0.5,
                                    into: sb.baseAddress!, isa: isa)
                            }
                        }
                    }
                    for r in 0..<rows {
                        for j in 0..<keys {
                            let terms: [Double] = (0..<d).map { (c: Int) -> Double in
                                0.5 * Double(qf[r * d + c]) * Double(kf[j * d + c])
                            }
                            let scale: Double = terms.map(abs).reduce(0, +)
                            #expect(abs(Double(sf[r * keys + j]) - NaiveOracle.sum(terms)) <= 1e-6 * max(scale, 1e-30))
                        }
                    }
                    // f32 P.V (every path: four-row groups, single rows, vector and scalar column tails, key blocks)
                    // against the exact sum of its rounded inputs: a recursive sum of keys + 1 terms is within
                    // (keys + 1) u of the sum of |terms| (u = 2^-24), whatever the order or contraction.
                    let (vf, o0f) = (v.map(Float.init), o0.map(Float.init))
                    var of = o0f
                    sf.withUnsafeBufferPointer { sb in
                        vf.withUnsafeBufferPointer { vb in
                            of.withUnsafeMutableBufferPointer { ob in
                                Float.fewRowPV(
                                    p: sb.baseAddress!, rows: rows, keys: keys, v: vb.baseAddress!, dv: d,
                                    into: ob.baseAddress!, isa: isa)
                            }
                        }
                    }
                    for r in 0..<rows {
                        for c in 0..<d {
                            var terms: [Double] = [Double(o0f[r * d + c])]
                            terms += (0..<keys).map { (j: Int) -> Double in
                                Double(sf[r * keys + j]) * Double(vf[j * d + c])
                            }
                            let scale: Double = terms.map(abs).reduce(0, +)
                            let bound = Double(keys + 1) * 0x1p-24 * scale
                            #expect(
                                abs(Double(of[r * d + c]) - NaiveOracle.sum(terms)) <= bound,
                                "f32 P.V rows \(rows) keys \(keys) d \(d) row \(r) column \(c)")
                        }
                    }
                }
            }
        }
    }
}

/// bf16/f16 inputs kept 16-bit and widened per tile give the bits of the same values widened whole.
@Suite struct HalfPrecisionInputTests {
    @Test(arguments: KernelISA.allCases)
    func widenEvery16BitPatternExactly(_ isa: KernelISA) {
        let all = (0...UInt16.max).map { $0 }
        var f = [Float](repeating: 0, count: all.count), d = [Double](repeating: 0, count: all.count)
        for bf16 in [false, true] {
            all.withUnsafeBufferPointer { x in
                Float.widen16(x.baseAddress!, count: x.count, bf16: bf16, into: &f, isa: isa)
                Double.widen16(x.baseAddress!, count: x.count, bf16: bf16, into: &d, isa: isa)
            }
            for (i, bits) in all.enumerated() {
                let want = bf16 ? Rounding.bfloat16Value(bits) : Rounding.float16Value(bits)
                if want.isNaN {
                    #expect(f[i].isNaN && d[i].isNaN)
                } else {
                    #expect(Double(f[i]) == want && d[i] == want, "bits \(bits) bf16 \(bf16)")
                }
            }
        }
    }

    /// f32 inputs of an f64 computation, widened per tile, give the bits of the same values widened whole, on every
    /// kernel path (blocked, few-row, chunked decode) and option case.
    @Test func singleInputsEqualTheirWidenedValuesBitForBit() throws {
        for (name, c) in optionCases {
            let x = c.inputs()
            let (q, k, v) = (x.q.map(Float.init), x.k.map(Float.init), x.v.map(Float.init))
            let wide = try AttentionInputs(q: q.map(Double.init), k: k.map(Double.init), v: v.map(Double.init))
            let single = try SinglePrecisionInputs<Double>(q: q, k: k, v: v)
            for blocking in kernelVariants {
                let a = try ExactAttention.forward(single, options: c.options, blocking: blocking)
                let b = try ExactAttention.forward(wide, options: c.options, blocking: blocking)
                #expect(a.output.data.map(\.bitPattern) == b.output.data.map(\.bitPattern), "\(name) \(blocking)")
                #expect(a.lse.data.map(\.bitPattern) == b.lse.data.map(\.bitPattern), "\(name) lse")
            }
        }
    }

    @Test(arguments: [HalfFormat.bf16, .f16])
    func halfInputsEqualTheirWidenedValuesBitForBit(_ format: HalfFormat) throws {
        for (name, c) in optionCases {
            let x = c.inputs()
            func bits(_ t: Tensor<Double>) throws -> Tensor<UInt16> {
                try Tensor(
                    shape: t.shape,
                    data: t.data.map {
                        format == .bf16
                            ? Rounding.bfloat16Bits(Rounding.toBFloat16($0))
                            : Rounding.float16Bits(Rounding.toFloat16($0))
                    })
            }
            func widened(_ t: Tensor<UInt16>) throws -> Tensor<Double> {
                try Tensor(
                    shape: t.shape,
                    data: t.data.map { format == .bf16 ? Rounding.bfloat16Value($0) : Rounding.float16Value($0) })
            }
            let (q, k, v) = (try bits(x.q), try bits(x.k), try bits(x.v))
            let wide = try AttentionInputs(q: widened(q), k: widened(k), v: widened(v))
            let wide32 = try AttentionInputs(
                q: wide.q.map(Float.init), k: wide.k.map(Float.init), v: wide.v.map(Float.init))
            for blocking in kernelVariants {
                let half = try HalfPrecisionInputs<Double>(format: format, q: q, k: k, v: v)
                let a = try ExactAttention.forward(half, options: c.options, blocking: blocking)
                let b = try ExactAttention.forward(wide, options: c.options, blocking: blocking)
                #expect(a.output.data.map(\.bitPattern) == b.output.data.map(\.bitPattern), "\(name) \(blocking)")
                #expect(a.lse.data.map(\.bitPattern) == b.lse.data.map(\.bitPattern), "\(name) lse")
                let half32 = try HalfPrecisionInputs<Float>(format: format, q: q, k: k, v: v)
                let a32 = try ExactAttention.forward(half32, options: c.options, blocking: blocking)
                let b32 = try ExactAttention.forward(wide32, options: c.options, blocking: blocking)
                #expect(
                    a32.output.data.map(\.bitPattern) == b32.output.data.map(\.bitPattern), "\(name) f32 \(blocking)")
            }
        }
    }
}
