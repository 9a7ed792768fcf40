import Foundation
import Testing

@testable import Reference

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

func temporaryFolder(_ tag: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("treeattn-\(tag)-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func sha256(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["sha256sum", path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    p.waitUntilExit()
    return String(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
}

/// Writes a suite the way `treeattn golden` does.
func writeSuite(_ specs: [GoldenCaseSpec], dtypes: [DType], suite: String, to folder: String) throws -> [GoldenCase] {
    let cases = try specs.flatMap { spec in try dtypes.map { try GoldenCase(spec: spec, dtype: $0) } }
    for c in cases { try c.file.write(to: folder + "/\(c.name).safetensors") }
    try AtomicFile.write(GoldenManifest(suite: suite, cases: cases).json, to: folder + "/manifest.json")
    return cases
}

@Suite struct GoldenTests {
    @Test func regeneratingTheCommittedFixtureGivesTheSameBytes() throws {
        let fixture = repositoryRoot + "/fixtures/golden/standard-bf16"
        let dir = try temporaryFolder("fixture")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try writeSuite(GoldenSuite.standard.cases, dtypes: [.bf16], suite: "standard", to: dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture).sorted()
        #expect(names == (try FileManager.default.contentsOfDirectory(atPath: dir).sorted()))
        for name in names {
            #expect(
                try AtomicFile.read(fixture + "/" + name) == (try AtomicFile.read(dir + "/" + name)), "\(name) differs")
        }
    }

    /// Pinned on one machine; any machine must produce the same bytes (integer-only generator, one-step rounding,
    /// portable exp/log, deterministic file layout).
    @Test func aGeneratedCaseHasAPinnedSHA256() throws {
        let dir = try temporaryFolder("sha")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try #require(GoldenSuite.edge.cases.first { $0.name == "sk1" })
        try GoldenCase(spec: spec, dtype: .f16).file.write(to: dir + "/c.safetensors")
        #expect(
            try sha256(dir + "/c.safetensors") == "8268e56e549fd6d5a3c0df9b1a4d7551a82a122df9e8acc4a8f981b7fa1ebdfb")
    }

    /// The golden engine (energy formulation, compensated, portable math) agrees with the BLAS kernel and the oracle.
    @Test(arguments: GoldenSuite.edge.cases + GoldenSuite.standard.cases.prefix(4))
    func goldenAgreesWithTheKernel(_ spec: GoldenCaseSpec) throws {
        let c = try GoldenCase(spec: spec, dtype: .bf16)
        let x = try AttentionInputs(q: c.file["q"]!.tensor(), k: c.file["k"]!.tensor(), v: c.file["v"]!.tensor())
        let kernel = try ExactAttention.forward(x, options: spec.options())
        #expect(relativeError(c.file["out"]!.doubles(), kernel.output.data) < 1e-13, "\(spec.name)")
        #expect(relativeError(c.file["lse"]!.doubles(), kernel.lse.data) < 1e-13, "\(spec.name)")
        #expect(
            c.file["out_f32"]!.doubles() == kernel.output.data.map { Double(Float($0)) }
                || relativeError(c.file["out_f32"]!.doubles(), kernel.output.data) < 1e-7)
    }

    /// The emulated naive pipelines land where published measurements put them (docs/reference-semantics.md):
    /// bf16 normwise ~5e-3..8e-3, f32 ~5e-7; so the derived tolerances are of the right size.
    @Test func naivePipelineErrorsHaveThePublishedMagnitudes() throws {
        let spec = GoldenCaseSpec(name: "probe", heads: 4, seqQ: 64, seqK: 512, headDim: 64, seed: 9)
        for (dtype, range) in [(DType.bf16, 1e-3...2e-2), (.f16, 1e-4...3e-3), (.f32, 5e-8...5e-6)] {
            let c = try GoldenCase(spec: spec, dtype: dtype)
            let x = try AttentionInputs(q: c.file["q"]!.tensor(), k: c.file["k"]!.tensor(), v: c.file["v"]!.tensor())
            let naive = try NaivePipeline.run(x, options: spec.options(), dtype: dtype)
            let golden = c.file["out"]!.doubles()
            let num = zip(naive.output, golden).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            let den = golden.map { $0 * $0 }.reduce(0, +)
            let normwise = (num / den).squareRoot()
            #expect(range.contains(normwise), "\(dtype) normwise \(normwise)")
            #expect(c.outputTolerance.atol > 2 * c.outputTolerance.naiveMaxAbsError)
        }
    }

    @Test func toleranceRuleIsFlashAttentions() {
        let t = GoldenTolerance.derive(
            golden: [0.5, -0.25, 1, -.infinity], naive: [0.5 + 1e-3, -0.25, 1, -.infinity], dtype: .bf16)
        #expect(abs(t.naiveMaxAbsError - 1e-3) < 1e-15)
        // By hand: bf16(1.3) = 1.296875 (spacing 2^-7); 1.296875 - 0.3 = 0.996875 -> bf16 0.99609375 (spacing 2^-8):
        // noise 2^-8, floor 2 * 2^-8. For 0.5 and -0.25 the round trip is exact.
        #expect(t.floor == 2 * 0x1p-8)
        #expect(t.atol == 2 * t.naiveMaxAbsError + t.floor)
    }

    @Test func badSpecsAreRejected() {
        #expect(throws: ReferenceError.self) {
            try GoldenCaseSpec(name: "x", heads: 3, kvHeads: 2, seqQ: 1, seqK: 1, headDim: 8).validate()
        }
        #expect(throws: ReferenceError.self) { try GoldenCaseSpec(name: "x", seqQ: -1, seqK: 1, headDim: 8).validate() }
        #expect(throws: ReferenceError.self) {
            try GoldenCaseSpec(name: "x y", seqQ: 1, seqK: 1, headDim: 8).validate()
        }
        #expect(throws: ReferenceError.self) {
            try GoldenCaseSpec(name: "x", seqQ: 1 << 20, seqK: 1 << 20, headDim: 4096).validate()
        }
        #expect(throws: ReferenceError.self) {
            try GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8, causal: "sideways").validate()
        }
        #expect(throws: ReferenceError.self) {
            _ = try GoldenCase(spec: GoldenCaseSpec(name: "x", seqQ: 1, seqK: 1, headDim: 8), dtype: .f64)
        }
    }
}

@Suite struct CheckerTests {
    /// A golden folder of two cases and a results folder holding the goldens' own f32 values.
    static func setUp() throws -> (golden: String, results: String, cases: [GoldenCase]) {
        let golden = try temporaryFolder("golden"), results = try temporaryFolder("results")
        let specs = [
            GoldenCaseSpec(name: "a", heads: 2, seqQ: 5, seqK: 3, headDim: 8, causal: "bottom-right", seed: 1),
            GoldenCaseSpec(
                name: "b", batch: 2, heads: 2, seqQ: 1, seqK: 40, headDim: 16, cacheSeqlens: [40, 0], seed: 2),
        ]
        let cases = try writeSuite(specs, dtypes: [.bf16], suite: "test", to: golden)
        for c in cases {
            try SafetensorsFile(tensors: [("out", c.file["out_f32"]!), ("lse", c.file["lse_f32"]!)]).write(
                to: results + "/\(c.name).safetensors")
        }
        return (golden, results, cases)
    }

    func run(_ golden: String, _ results: String, configure: (inout GoldenChecker) -> Void = { _ in }) throws
        -> [GoldenChecker.Row]
    {
        var checker = GoldenChecker(goldenFolder: golden, results: results)
        configure(&checker)
        return try checker.run()
    }

    @Test func goldenValuesPassAndEmptyRowsAreRecognised() throws {
        let (golden, results, _) = try Self.setUp()
        let rows = try run(golden, results)
        #expect(rows.count == 4 && rows.allSatisfy { $0.passed })
    }

    /// An error just above the tolerance fails and just below passes: the check can fail.
    @Test func theToleranceIsEnforcedBothWays() throws {
        let (golden, results, cases) = try Self.setUp()
        let c = cases[1]
        var out = c.file["out"]!.doubles()
        let atol = c.outputTolerance.atol
        for (bump, expected) in [(0.9 * atol, true), (1.1 * atol, false)] {
            var bumped = out
            bumped[3] += bump
            try SafetensorsFile(tensors: [("out", TensorData(values: bumped, shape: c.file["out"]!.shape, dtype: .f64))]
            )
            .write(to: results + "/\(c.name).safetensors")
            let row = try run(golden, results).first { $0.caseName == c.name && $0.tensor == "out" }!
            #expect(row.passed == expected)
            #expect(row.worstIndex == [0, 0, 0, 3])  // (b, h, s, d) of flat index 3
        }
        out[0] = .nan
        try SafetensorsFile(tensors: [("out", TensorData(values: out, shape: c.file["out"]!.shape, dtype: .f64))])
            .write(to: results + "/\(c.name).safetensors")
        #expect(try run(golden, results).contains { $0.caseName == c.name && !$0.passed && $0.note.contains("NaN") })
    }

    @Test func bshdLayoutBase2AndFlashAttention2InfinityAreUnderstood() throws {
        let (golden, results, cases) = try Self.setUp()
        for c in cases {
            let out = c.file["out"]!.tensor().swappingAxes12()
            let lse2 = c.file["lse"]!.doubles().map { $0 == -.infinity ? Double.infinity : $0 / 0.6931471805599453 }
            try SafetensorsFile(
                tensors: [
                    ("out", TensorData(out, dtype: .f32)),
                    ("lse", TensorData(values: lse2, shape: c.file["lse"]!.shape, dtype: .f32)),
                ],
                metadata: ["layout": "bshd", "lse_base": "2"]
            ).write(to: results + "/\(c.name).safetensors")
        }
        let rows = try run(golden, results)
        #expect(rows.allSatisfy { $0.passed })
        #expect(rows.contains { $0.note.contains("FlashAttention 2") })
        #expect(rows.contains { $0.note.contains("bshd") })
    }

    @Test func npyResultsAndSingleFileResultsAreRead() throws {
        let (golden, _, cases) = try Self.setUp()
        let npyDir = try temporaryFolder("npy")
        var single = SafetensorsFile()
        for c in cases {
            try NPYFile.write(c.file["out_f32"]!, to: npyDir + "/\(c.name).out.npy")
            try NPYFile.write(c.file["lse_f32"]!, to: npyDir + "/\(c.name).lse.npy")
            single.tensors += [("\(c.name).out", c.file["out"]!), ("\(c.name).lse", c.file["lse"]!)]
        }
        try single.write(to: npyDir + "/all.safetensors")
        #expect(try run(golden, npyDir).allSatisfy { $0.passed })
        #expect(try run(golden, npyDir + "/all.safetensors").count == 4)
    }

    @Test func missingCasesShapesDtypesAndCorruptFilesAreOneLineErrors() throws {
        let (golden, results, cases) = try Self.setUp()
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch { return "\(error)" }
        }
        let c = cases[0]
        try FileManager.default.removeItem(atPath: results + "/\(c.name).safetensors")
        #expect(message { _ = try run(golden, results) }.contains("no results for golden case 'a-bf16'"))
        try SafetensorsFile(tensors: [("out", TensorData(values: [1, 2], shape: [2], dtype: .f32))]).write(
            to: results + "/\(c.name).safetensors")
        #expect(message { _ = try run(golden, results) }.contains("out has shape [2]"))
        try SafetensorsFile(tensors: [
            ("out", TensorData(values: [Double](repeating: 1, count: 80), shape: [1, 2, 5, 8], dtype: .i32))
        ])
        .write(to: results + "/\(c.name).safetensors")
        #expect(message { _ = try run(golden, results) }.contains("dtype i32"))
        try AtomicFile.write(
            Array(try AtomicFile.read(golden + "/\(c.name).safetensors").prefix(100)),
            to: golden + "/\(c.name).safetensors")
        #expect(message { _ = try run(golden, results) }.contains("truncated"))
        #expect(message { _ = try run(golden + "/nope", results) }.contains("manifest.json: no such file"))
        #expect(message { _ = try run(golden, results) { $0.filter = "zzz" } }.contains("no golden case matches"))
        for m in [message { _ = try run(golden, results) }] { #expect(!m.contains("\n")) }
    }
}
