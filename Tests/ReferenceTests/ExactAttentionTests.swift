import Foundation
import Testing

@testable import Reference

/// The cases every option combination is checked on: odd head dims, Sq > Sk, decode, GQA/MQA, all masks.
let optionCases: [(String, NaiveOracle.Case)] = {
    var cases: [(String, NaiveOracle.Case)] = []
    cases.append(("plain", .init()))
    cases.append(("odd d=59, dv=111", .init(sq: 5, sk: 13, d: 59, dv: 111)))
    cases.append(("Sq > Sk", .init(sq: 9, sk: 4, causal: .bottomRight)))
    cases.append(("decode Sq=1", .init(b: 2, sq: 1, sk: 239)))
    cases.append(("GQA 6:2", .init(hq: 6, hkv: 2, sq: 4, sk: 11)))
    cases.append(("MQA 4:1", .init(hq: 4, hkv: 1, sq: 3, sk: 9)))
    cases.append(("causal top-left", .init(sq: 7, sk: 10, causal: .topLeft)))
    cases.append(("causal bottom-right", .init(sq: 7, sk: 10, causal: .bottomRight)))
    cases.append(("window (2,1)", .init(sq: 8, sk: 12, window: (2, 1))))
    cases.append(("window (-1,0) == causal", .init(sq: 8, sk: 12, window: (-1, 0))))
    cases.append(("window (3,-1)", .init(sq: 8, sk: 12, window: (3, -1))))
    cases.append(("scale 0.3", .init(scale: 0.3)))
    cases.append(("softcap 2", .init(softcap: 2, std: 3)))
    cases.append(("alibi", .init(hq: 2, sq: 5, sk: 9, alibi: [0.5, 0.25])))
    cases.append(("cache_seqlens", .init(b: 3, sq: 2, sk: 10, causal: .bottomRight, seqlens: [10, 3, 0])))
    var g = SeededGenerator(seed: 99)
    let n = 1 * 2 * 4 * 9
    cases.append(("boolean mask", .init(sq: 4, sk: 9, boolMask: (0..<n).map { _ in g.uniform() < 0.6 })))
    cases.append(
        (
            "additive mask with -inf",
            .init(
                sq: 4, sk: 9,
                additive: (0..<n).map { _ in
                    let u = g.uniform()
                    return u < 0.3 ? -.infinity : u * 3 - 1
                })
        ))
    cases.append(("extreme logits > 88", .init(sq: 3, sk: 20, std: 6)))
    cases.append(
        (
            "everything",
            .init(
                b: 2, hq: 4, hkv: 2, sq: 6, sk: 17, d: 5, dv: 7, scale: 0.7, causal: .bottomRight,
                window: (6, 2), softcap: 5, alibi: [0.1, 0.2, 0.3, 0.4], seqlens: [17, 12])
        ))
    return cases
}()

/// Every instruction set of the kernel's own loops, each with default tiles, tiny tiles (several key and query
/// blocks, key chunks merged), tiny tiles through gemm only (fewRows 0), and gemm tiles whose ragged blocks (causal
/// diagonal, window edges) are cut into 2-row bands (`BlockPieces`).
let kernelVariants: [KernelBlocking] = KernelISA.allCases.flatMap { isa in
    [
        KernelBlocking(isa: isa), KernelBlocking(queryRows: 2, keys: 3, splitKeys: 5, isa: isa),
        KernelBlocking(queryRows: 3, keys: 4, splitKeys: 6, isa: isa, fewRows: 0),
        KernelBlocking(queryRows: 6, keys: 5, splitKeys: 6, isa: isa, fewRows: 0, band: 2),
    ]
}

@Suite struct ExactAttentionTests {
    @Test(arguments: optionCases)
    func f64MatchesOracle(_ named: (String, NaiveOracle.Case)) throws {
        let c = named.1, x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        // Tiny blocks so that every case crosses several key and query blocks and the online softmax is exercised;
        // each instruction set, and both products (the few-row loops and gemm).
        for blocking in kernelVariants {
            let r = try ExactAttention.forward(x, options: c.options, blocking: blocking)
            #expect(relativeError(r.output.data, o) < 1e-12, "\(named.0) output \(blocking)")
            #expect(relativeError(r.lse.data, l) < 1e-12, "\(named.0) lse \(blocking)")
        }
    }

    @Test(arguments: optionCases)
    func f32MatchesOracle(_ named: (String, NaiveOracle.Case)) throws {
        let c = named.1, x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        let x32 = try AttentionInputs(q: x.q.map(Float.init), k: x.k.map(Float.init), v: x.v.map(Float.init))
        for blocking in kernelVariants {
            let r = try ExactAttention.forward(x32, options: c.options, blocking: blocking)
            // f32 unit roundoff 6e-8; sums over <= 240 terms of magnitude <= ~40 keep the error well under 1e-5.
            #expect(relativeError(r.output.data.map(Double.init), o) < 1e-5, "\(named.0) output \(blocking)")
            #expect(relativeError(r.lse.data.map(Double.init), l) < 1e-5, "\(named.0) lse \(blocking)")
        }
    }

    /// Tiles of the default size, whose diagonal and window-edge blocks run as 64-row bands, against the oracle.
    @Test(arguments: [CausalMode.topLeft, .bottomRight, .none])
    func raggedBlocksOfFullSizeTilesMatchOracle(_ causal: CausalMode) throws {
        let c = NaiveOracle.Case(
            hq: 2, hkv: 1, sq: 300, sk: causal == .bottomRight ? 420 : 300, d: 16, dv: 9,
            causal: causal, window: causal == .none ? (150, 40) : nil)
        let x = c.inputs()
        let (o, l) = NaiveOracle.attention(c, x)
        for blocking in [KernelBlocking.default, KernelBlocking(queryRows: 200, keys: 128, fewRows: 0, band: 48)] {
            let r = try ExactAttention.forward(x, options: c.options, blocking: blocking)
            #expect(relativeError(r.output.data, o) < 1e-12, "\(causal) output \(blocking)")
            #expect(relativeError(r.lse.data, l) < 1e-12, "\(causal) lse \(blocking)")
        }
    }

    @Test func plantedNaNAndInfInMaskedKeysNeverReachTheOutput() throws {
        let c = NaiveOracle.Case(hq: 2, sq: 6, sk: 10, causal: .bottomRight, seqlens: [8])
        let clean = c.inputs()
        var k = clean.k, v = clean.v
        // Key 9 is beyond the cache length for every row; key 7 is hidden from the first rows by causality.
        for h in 0..<2 {
            for e in 0..<c.d {
                k[0, h, 9, e] = .nan
                k[0, h, 7, e] = .infinity
            }
        }
        for h in 0..<2 {
            for e in 0..<c.dv {
                v[0, h, 9, e] = .infinity
                v[0, h, 8, e] = .nan
            }
        }
        let dirty = try AttentionInputs(q: clean.q, k: k, v: v)
        for blocking in [
            KernelBlocking.default, KernelBlocking(queryRows: 3, keys: 2),
            KernelBlocking(queryRows: 6, keys: 5, fewRows: 0, band: 2),
        ] {
            let r = try ExactAttention.forward(dirty, options: c.options, blocking: blocking)
            // Rows 0..4 cannot see key 7 (bottom-right with Sk=8: row i sees j <= i + 2): all finite and exact.
            let (o, _) = NaiveOracle.attention(c, clean)
            for h in 0..<2 {
                for i in 0..<5 {
                    for e in 0..<c.dv {
                        let got = r.output[0, h, i, e], want = o[((h * c.sq) + i) * c.dv + e]
                        #expect(got.isFinite && abs(got - want) < 1e-12)
                    }
                }
            }
            // Row 5 sees key 7 whose K is +inf: NaN/Inf propagates there (unmasked), as documented.
            #expect(!r.output[0, 0, 5, 0].isFinite)
        }
    }

    @Test func plantedNaNInBooleanMaskedValueStaysOut() throws {
        var c = NaiveOracle.Case(hq: 1, hkv: 1, sq: 2, sk: 4)
        c.boolMask = [true, true, false, true, true, true, true, true]  // row 0 excludes key 2
        let clean = c.inputs()
        var v = clean.v
        for e in 0..<c.dv { v[0, 0, 2, e] = .nan }
        let r = try ExactAttention.forward(try AttentionInputs(q: clean.q, k: clean.k, v: v), options: c.options)
        let (o, _) = NaiveOracle.attention(c, clean)
        #expect(relativeError(Array(r.output.data[0..<c.dv]), Array(o[0..<c.dv])) < 1e-12)
        #expect(r.output[0, 0, 1, 0].isNaN)  // row 1 sees key 2: NaN propagates
    }

    @Test func fullyMaskedRowsGiveZeroAndMinusInfinity() throws {
        for c in [
            NaiveOracle.Case(sq: 5, sk: 2, causal: .bottomRight),  // first rows see nothing
            NaiveOracle.Case(b: 2, sq: 2, sk: 3, seqlens: [0, 3]),  // empty cache
            NaiveOracle.Case(sq: 2, sk: 0),
        ] {  // no keys at all
            let r = try ExactAttention.forward(c.inputs(), options: c.options)
            let (o, l) = NaiveOracle.attention(c, c.inputs())
            #expect(l.contains(-.infinity))
            #expect(r.lse.data == l.map { $0 == -.infinity ? -.infinity : r.lse.data[l.firstIndex(of: $0)!] })
            for (row, value) in l.enumerated() where value == -.infinity {
                #expect(r.lse.data[row] == -.infinity)
                #expect(r.output.data[row * c.dv..<(row + 1) * c.dv].allSatisfy { $0 == 0 })
            }
            #expect(relativeError(r.output.data, o) < 1e-12)
        }
    }

    @Test func badShapesAreRejectedWithAMessage() throws {
        let q = Tensor<Double>(shape: [1, 3, 2, 4], repeating: 0)
        let k = Tensor<Double>(shape: [1, 2, 5, 4], repeating: 0)
        #expect(throws: ReferenceError.shape("query heads (3) must be a multiple of KV heads (2)")) {
            _ = try AttentionInputs(q: q, k: k, v: k)
        }
        let k4 = Tensor<Double>(shape: [1, 1, 5, 3], repeating: 0)
        #expect(throws: ReferenceError.self) { _ = try AttentionInputs(q: q, k: k4, v: k4) }
        let x = try AttentionInputs(
            q: q, k: Tensor(shape: [1, 1, 5, 4], repeating: 0), v: Tensor(shape: [1, 1, 5, 4], repeating: 0))
        #expect(throws: ReferenceError.self) {
            _ = try ExactAttention.forward(x, options: AttentionOptions(window: SlidingWindow(left: -2, right: 0)))
        }
        #expect(throws: ReferenceError.self) {
            _ = try ExactAttention.forward(x, options: AttentionOptions(softcap: -1))
        }
        #expect(throws: ReferenceError.self) {
            _ = try ExactAttention.forward(x, options: AttentionOptions(cacheSeqlens: [9]))
        }
        #expect(throws: ReferenceError.self) {
            _ = try ExactAttention.forward(x, options: AttentionOptions(alibiSlopes: [1]))
        }
    }

    /// Decoding over 2^20 keys with d = 128: constant K and V make the answer exact (o = 1, lse = s + log N) and the
    /// resident-memory high-water mark shows the kernel allocated nothing proportional to Sk (a score row of
    /// 2^20 f32 alone would not show, so we also run a prefill whose full score matrix would need 1 GiB).
    @Test func longKeysRunInBoundedMemory() throws {
        let n = 1 << 20, d = 128
        let q = try Tensor<Float>(shape: [1, 1, 1, d], data: (0..<d).map { Float($0 % 7) / 7 })
        let k = try Tensor<Float>(shape: [1, 1, n, d], data: [Float](repeating: 0.01, count: n * d))
        let v = try Tensor<Float>(shape: [1, 1, n, d], data: [Float](repeating: 1, count: n * d))
        let x = try AttentionInputs(q: q, k: k, v: v)
        let before = peakResidentBytes()
        let r = try ExactAttention.forward(x)
        let grown = peakResidentBytes() - before
        let dot = (0..<d).reduce(0.0) { $0 + Double(Float($1 % 7) / 7) * 0.01 } / Double(d).squareRoot()
        #expect(abs(Double(r.lse.data[0]) - (dot + log(Double(n)))) < 1e-4)
        #expect(r.output.data.allSatisfy { abs($0 - 1) < 1e-5 })
        #expect(grown < 64 << 20, "decode grew the peak RSS by \(grown) bytes")

        // Prefill 2048 x 32768 with d = 4: a materialised score matrix would be 2048 * 32768 * 8 B = 512 MiB.
        let c = NaiveOracle.Case(hq: 1, hkv: 1, sq: 2048, sk: 32_768, d: 4, dv: 4)
        let big = c.inputs()
        let before2 = peakResidentBytes()
        let r2 = try ExactAttention.forward(big)
        let grown2 = peakResidentBytes() - before2
        #expect(grown2 < 128 << 20, "prefill grew the peak RSS by \(grown2) bytes")
        #expect(r2.lse.data.allSatisfy { $0.isFinite })
        // Spot-check the last query row against the energy formulation (independent loops).
        let lastRow = try AttentionInputs(
            q: Tensor(shape: [1, 1, 1, 4], data: Array(big.q.data.suffix(4))), k: big.k, v: big.v)
        let f = try AttentionEnergy(inputs: lastRow).value()
        #expect(abs(f.data[0] - r2.lse.data.last!) < 1e-12 * max(1, abs(f.data[0])))
    }
}

/// The process's peak resident set size in bytes (Linux: ru_maxrss is in KiB).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

@Suite struct SoftmaxExpTests {
    /// The kernel's exponential against libm's over the whole range it is used on, and its special values.
    @Test func agreesWithLibmWithinTwoUlps() {
        var worst = 0.0
        var x = -708.0
        while x <= 0 {
            let want = Foundation.exp(x), got = SoftmaxExp.exp(x)
            worst = max(worst, abs(got - want) / want.ulp)
            x += 0.0137
        }
        #expect(worst <= 2, "worst error \(worst) ulps")
        #expect(SoftmaxExp.exp(0) == 1)
        #expect(SoftmaxExp.exp(-.infinity) == 0)
        #expect(SoftmaxExp.exp(-800) == 0)
        #expect(SoftmaxExp.exp(.nan).isNaN)
        #expect(abs(SoftmaxExp.exp(-1e-300) - 1) == 0)
    }
}

@Suite struct PortableMathTests {
    /// Errors in units in the last place of libm's value (libm itself is within 1 ulp of the truth).
    static func ulps(_ got: Double, _ want: Double) -> Double { abs(got - want) / want.ulp }

    @Test func agreesWithLibmInUlps() {
        var g = SeededGenerator(seed: 11)
        var worst = [String: Double]()
        func note(_ name: String, _ got: Double, _ want: Double) {
            worst[name] = max(worst[name] ?? 0, Self.ulps(got, want))
        }
        for _ in 0..<20_000 {
            let x = (g.uniform() * 2 - 1) * 700
            note("exp", PortableMath.exp(x), Foundation.exp(x))
            let y = Foundation.exp((g.uniform() * 2 - 1) * 700)
            note("log", PortableMath.log(y), Foundation.log(y))
            let t = (g.uniform() * 2 - 1) * 4
            note("tanh", PortableMath.tanh(t), Foundation.tanh(t))
            let small = (g.uniform() * 2 - 1) * 0.3
            note("log1p", PortableMath.log1p(small), Foundation.log1p(small))
            note("expm1", PortableMath.expm1(small), Foundation.expm1(small))
        }
        // Design targets: exp and log within 2 ulps, the composed functions within 3.
        #expect(worst["exp"]! <= 2 && worst["log"]! <= 2, "\(worst)")
        #expect(worst["tanh"]! <= 3 && worst["log1p"]! <= 3 && worst["expm1"]! <= 3, "\(worst)")
        #expect(PortableMath.log(1) == 0 && PortableMath.log(0) == -.infinity && PortableMath.log(-1).isNaN)
        #expect(PortableMath.exp(710) == .infinity && PortableMath.tanh(30) == 1 && PortableMath.tanh(-0.0) == 0)
        #expect(Self.ulps(PortableMath.log(0x1p-1070), Foundation.log(0x1p-1070)) <= 2)  // subnormal argument
    }
}
