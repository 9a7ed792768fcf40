import Foundation
import Testing

@testable import Reference

/// FP8 (issue 27): the rounding against a brute-force oracle over every code, the files, the goldens' FP8 cases and
/// their two tolerance variants in the checker. (Bit-for-bit agreement with ml_dtypes is python/golden_client.py's,
/// on the rounding-edge cases' q and q_cast.)
@Suite struct Float8Tests {
    /// The nearest finite code by search over all 256 (ties to the even code, i.e. the one whose lowest bit is 0),
    /// overflow per `overflow`: an oracle that shares nothing with `Rounding.toFloat8` but the decoder.
    static func nearest(_ x: Double, _ f: Float8Format, _ overflow: Float8Overflow) -> Double {
        if x.isNaN { return .nan }
        let codes = (0..<256).map { UInt8($0) }.filter { Rounding.float8Value($0, f).isFinite }
        let largest = codes.map { Rounding.float8Value($0, f) }.max()!
        // The halfway point above the largest value: the step beyond it is the largest binade's quantum.
        let quantum = Double(sign: .plus, exponent: Int(largest.exponent) - f.mantissaBits, significand: 1)
        if abs(x) > largest + quantum / 2 || (abs(x) == largest + quantum / 2 && f == .e5m2) || x.isInfinite {
            if overflow == .saturate { return x < 0 ? -largest : largest }
            return f == .e4m3fn ? .nan : (x < 0 ? -.infinity : .infinity)
        }
        var best = codes[0], bestError = Double.infinity
        for c in codes {
            let v = Rounding.float8Value(c, f)
            let e = abs(v - x)
            if e < bestError || (e == bestError && (c & 1 == 0) && (best & 1 == 1)) {
                best = c
                bestError = e
            }
        }
        let v = Rounding.float8Value(best, f)
        return v == 0 ? (x.sign == .minus ? -0.0 : 0.0) : v
    }

    @Test(arguments: Float8Format.allCases)
    func everyCodeRoundTripsAndTheEdgesRoundLikeTheOracle(_ f: Float8Format) {
        for c in 0..<256 {
            let v = Rounding.float8Value(UInt8(c), f)
            if v.isNaN {
                #expect(Rounding.float8Bits(v, f) & 0x7F == f.nanBits)
            } else {
                #expect(Rounding.float8Bits(v, f) == UInt8(c), "code \(c) = \(v)")
                #expect(Rounding.toFloat8(v, f).bitPattern == v.bitPattern)
            }
        }
        #expect(Rounding.float8Value(0x7E, .e4m3fn) == 448 && Rounding.float8Value(0x7B, .e5m2) == 57344)
        #expect(Rounding.float8Value(0x01, .e4m3fn) == 0x1p-9 && Rounding.float8Value(0x01, .e5m2) == 0x1p-16)
        var g = SeededGenerator(seed: 27)
        let random = g.normals(2000, std: 1).enumerated().map {
            $0.element * Double(sign: .plus, exponent: $0.offset % 40 - 20, significand: 1)
        }
        for x in GoldenCase.float8Edges(f) + random {
            for overflow in [Float8Overflow.cast, .saturate] {
                let ours = Rounding.toFloat8(x, f, overflow: overflow), want = Self.nearest(x, f, overflow)
                #expect(
                    ours.bitPattern == want.bitPattern || (ours.isNaN && want.isNaN),
                    "\(f) \(overflow) \(x): \(ours) vs \(want)")
            }
        }
        // The thresholds stated in the docs: e4m3fn 464 rounds to 448 (tie to even), above it NaN; e5m2 61440 to
        // infinity; saturation clamps both.
        #expect(Rounding.toFloat8(464, .e4m3fn) == 448 && Rounding.toFloat8(464.0.nextUp, .e4m3fn).isNaN)
        #expect(Rounding.toFloat8(61440, .e5m2) == .infinity && Rounding.toFloat8(61440.0.nextDown, .e5m2) == 57344)
        #expect(Rounding.toFloat8(1e9, f, overflow: .saturate) == f.largest)
        #expect(Rounding.toFloat8(-.infinity, f, overflow: .saturate) == -f.largest)
    }

    /// FP8 tensors through .safetensors (F8_E4M3, F8_E5M2) and .npy ('|u1' bytes, reinterpreted).
    @Test func filesCarryFP8() throws {
        let dir = try temporaryFolder("fp8")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values = [0, -0.0, 1.5, -448, 0x1p-9, 240, 3.75]
        for dtype in [DType.f8e4m3fn, .f8e5m2] {
            let t = try TensorData(values: values, shape: [7], dtype: dtype)
            #expect(
                t.doubles().map(\.bitPattern) == values.map { Rounding.toFloat8($0, dtype.float8Format!).bitPattern })
            try SafetensorsFile(tensors: [("x", t)]).write(to: dir + "/x.safetensors")
            let back = try SafetensorsFile.read(dir + "/x.safetensors")["x"]!
            #expect(back == t)
            try NPYFile.write(t, to: dir + "/x.npy")
            let raw = try NPYFile.read(dir + "/x.npy")
            #expect(raw.dtype == .u8)
            #expect(try raw.reinterpreted(as: dtype) == t)
        }
        #expect(throws: ReferenceError.self) {
            try TensorData(values: [1], shape: [1], dtype: .f32).reinterpreted(as: .f8e4m3fn)
        }
        #expect(try DType(parsing: "float8_e4m3fn") == .f8e4m3fn && DType(safetensorsName: "F8_E5M2") == .f8e5m2)
    }

    /// The fp8 suite's cases: codes are the saturating rounding of the unquantised values, the golden is attention
    /// over code x descale (checked against the naive oracle in f64), p-fp8 is the looser variant; fp8 refuses f32
    /// and --backward.
    @Test func fp8CasesAreAttentionOverDescaledCodes() throws {
        let spec = GoldenCaseSpec(
            name: "t", batch: 2, heads: 4, kvHeads: 2, seqQ: 5, seqK: 33, headDim: 16, causal: "bottom-right", seed: 3,
            fp8: "e4m3fn")
        let c = try GoldenCase(spec: spec, dtype: .bf16)
        let f = c.file
        for n in ["q", "k", "v"] {
            #expect(f[n]!.dtype == .f8e4m3fn && f["\(n)_descale"]!.shape == [2, 2])
            let codes = f[n]!.doubles(), un = f["\(n)_unquantised"]!.doubles()
            #expect(zip(codes, un).allSatisfy { $0 == Rounding.toFloat8($1, .e4m3fn, overflow: .saturate) })
            #expect(un.map(abs).max()! <= 448 * (1 + 1e-6))
        }
        func descaled(_ n: String, groupOf: (Int) -> Int) throws -> Tensor<Double> {
            let t = f[n]!, d = f["\(n)_descale"]!.doubles()
            let per = t.count / 4
            return try Tensor(
                shape: t.shape, data: t.doubles().enumerated().map { $0.element * d[groupOf($0.offset / per)] })
        }
        let q = try descaled("q") { $0 }, k = try descaled("k") { $0 }, v = try descaled("v") { $0 }
        let oracle = NaiveOracle.Case(b: 2, hq: 4, hkv: 2, sq: 5, sk: 33, d: 16, dv: 16, causal: .bottomRight)
        let exact = NaiveOracle.attention(oracle, try AttentionInputs(q: q, k: k, v: v))
        let out = f["out"]!.doubles()
        #expect(zip(out, exact.0).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        #expect(c.outputVariantTolerances.map(\.name) == ["p-fp8", "p-dtype"])
        #expect(c.outputVariantTolerances[0].tolerance.atol > c.outputVariantTolerances[1].tolerance.atol)
        #expect(c.outputTolerance == c.outputVariantTolerances[0].tolerance)
        #expect(throws: ReferenceError.self) { try GoldenCase(spec: spec, dtype: .f32) }
        #expect(throws: ReferenceError.self) { try GoldenCase(spec: spec, dtype: .bf16, backward: true) }
        for bad in [
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, fp8: "e3m4"),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, fp8: "e4m3fn", descale: "row"),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, fp8: "e5m2", fp8Edges: true),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, descale: "head"),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, splits: [2], fp8: "e4m3fn"),
        ] {
            #expect(throws: ReferenceError.self) { try bad.validate() }
        }
    }

    /// FP8 KV caches: pages hold the codes of the dense cache (NaN elsewhere), the golden is q's attention over
    /// code x scale (the naive oracle in f64), kv-dequant and kv-scale are recorded, and misuse is refused.
    @Test func fp8KVCachesAreAttentionOverScaledCodes() throws {
        let dense = GoldenCaseSpec(
            name: "d", batch: 2, heads: 4, kvHeads: 2, seqQ: 2, seqK: 40, headDim: 16, causal: "bottom-right",
            cacheSeqlens: [40, 9], seed: 5, kvFp8: "e4m3fn", kvScale: "head")
        let c = try GoldenCase(spec: dense, dtype: .bf16)
        let f = c.file
        #expect(f["q"]!.dtype == .bf16 && f["k"]!.dtype == .f8e4m3fn && f["k_scale"]!.shape == [2])
        let scale = (k: f["k_scale"]!.doubles(), v: f["v_scale"]!.doubles())
        func scaled(_ n: String, _ s: [Double]) throws -> Tensor<Double> {
            let t = f[n]!
            let per = t.count / 4  // (batch 2, kv heads 2) blocks of seq_k x dim
            return try Tensor(
                shape: t.shape, data: t.doubles().enumerated().map { $0.element * s[($0.offset / per) % 2] })
        }
        let oracle = NaiveOracle.Case(
            b: 2, hq: 4, hkv: 2, sq: 2, sk: 40, d: 16, dv: 16, causal: .bottomRight, seqlens: [40, 9])
        let exact = NaiveOracle.attention(
            oracle, try AttentionInputs(q: f["q"]!.tensor(), k: scaled("k", scale.k), v: scaled("v", scale.v)))
        #expect(zip(f["out"]!.doubles(), exact.0).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        #expect(c.outputVariantTolerances.map(\.name) == ["kv-dequant", "kv-scale"])
        var paged = dense
        (paged.layout, paged.pageSize, paged.kvScale) = ("paged", 8, "tensor")
        let p = try GoldenCase(spec: paged, dtype: .f16).file
        #expect(p["k"] == nil && p["k_cache"]!.dtype == .f8e4m3fn && p["k_scale"]!.shape == [1])
        let pages = p["k_cache"]!.doubles()
        #expect(pages.filter(\.isNaN).count == pages.count - (40 + 9) * 2 * 16)
        for bad in [
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, kvFp8: "e4m3"),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, kvFp8: "e5m2", kvScale: "page"),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, kvScale: "head"),
            GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, fp8: "e4m3fn", kvFp8: "e4m3fn"),
        ] {
            #expect(throws: ReferenceError.self) { try bad.validate() }
        }
        #expect(throws: ReferenceError.self) { try GoldenCase(spec: dense, dtype: .f32) }
    }

    /// The checker picks the variant (asked, from the results' p_rounding, else p-fp8), names it, and reads FP8
    /// results from raw '|u1' .npy bytes when told their format.
    @Test func theCheckerAppliesAndNamesTheVariant() throws {
        let golden = try temporaryFolder("fp8-golden"), results = try temporaryFolder("fp8-results")
        defer { for d in [golden, results] { try? FileManager.default.removeItem(atPath: d) } }
        let spec = GoldenCaseSpec(name: "v", heads: 2, seqQ: 8, seqK: 64, headDim: 32, seed: 9, fp8: "e4m3fn")
        let c = try writeSuite([spec], dtypes: [.bf16], suite: "fp8", to: golden)[0]
        let (loose, tight) = (c.outputVariantTolerances[0].tolerance.atol, c.outputVariantTolerances[1].tolerance.atol)
        var out = c.file["out"]!.doubles()
        out[5] += (loose + tight) / 2  // within p-fp8, beyond p-dtype
        func write(_ metadata: [String: String]) throws {
            try SafetensorsFile(
                tensors: [("out", try TensorData(values: out, shape: c.file["out"]!.shape, dtype: .f32))],
                metadata: metadata
            ).write(to: results + "/\(c.name).safetensors")
        }
        func row(_ variant: String? = nil) throws -> GoldenChecker.Row {
            var checker = GoldenChecker(goldenFolder: golden, results: results)
            checker.toleranceVariant = variant
            return try checker.run().first { $0.tensor == "out" }!
        }
        try write([:])
        #expect(try row().passed && row().note.contains("p-fp8 (default)"))
        #expect(try !row("p-dtype").passed && row("p-dtype").note.contains("p-dtype (asked)"))
        try write(["p_rounding": "dtype"])
        #expect(try !row().passed && row().note.contains("p-dtype (results' metadata)"))
        #expect(throws: ReferenceError.self) { try row("p-f16") }
        // Raw FP8 bytes in .npy: read as u8 they are refused as a float output; told the format, they are compared.
        try FileManager.default.removeItem(atPath: results + "/\(c.name).safetensors")
        let fp8Out = try TensorData(values: c.file["out"]!.doubles(), shape: c.file["out"]!.shape, dtype: .f8e4m3fn)
        try NPYFile.write(fp8Out, to: results + "/\(c.name).out.npy")
        #expect(throws: ReferenceError.self) { try row() }
        var checker = GoldenChecker(goldenFolder: golden, results: results)
        checker.resultsDtype = .f8e4m3fn
        let r = try checker.run().first { $0.tensor == "out" }!
        let worst = zip(fp8Out.doubles(), c.file["out"]!.doubles()).map { abs($0 - $1) }.max()!
        #expect(r.maxAbs == worst && worst > 0)
    }
}
