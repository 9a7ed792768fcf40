import Foundation
import Testing

@testable import Reference

/// Issue 9: huge window bounds, malformed golden and result tensors, duplicate splits, the JSON report, strict file
/// and suite parsers, and memory estimates before allocating. Every refusal is one line.
@Suite struct OverflowTests {
    static let huge = Int.max  // 9223372036854775807

    /// Pairs (huge window, the unbounded window it means) on shapes with Sq < Sk, Sq == Sk and Sq > Sk.
    static let equivalents: [(NaiveOracle.Case, (Int, Int), (Int, Int))] = [
        (.init(sq: 3, sk: 7), (-1, huge), (-1, -1)),
        (.init(sq: 9, sk: 4), (huge, 0), (-1, 0)),
        (.init(sq: 9, sk: 4), (0, huge), (0, -1)),
        (.init(sq: 4, sk: 4), (huge, huge), (-1, -1)),
        (.init(sq: 5, sk: 11, causal: .bottomRight, alibi: [0.5, 0.25]), (huge, 2), (-1, 2)),
        (.init(b: 2, sq: 2, sk: 9, seqlens: [9, 3]), (huge - 1, huge), (-1, -1)),
        // Bounds just at the clamp: as wide as the keys (left) and as Sq + Sk (right).
        (.init(sq: 9, sk: 4), (4, 13), (-1, -1)),
        (.init(sq: 9, sk: 4), (3, 12), (3, 12)),
    ]

    func options(_ c: NaiveOracle.Case, _ w: (Int, Int)) -> AttentionOptions {
        var o = c.options
        o.window = SlidingWindow(left: w.0, right: w.1)
        return o
    }

    @Test(arguments: 0..<equivalents.count)
    func hugeWindowsInTheKernelAreUnbounded(_ n: Int) throws {
        let (c, hugeWindow, meaning) = Self.equivalents[n]
        let x = c.inputs()
        for blocking in [KernelBlocking.default, KernelBlocking(queryRows: 2, keys: 3, splitKeys: 5)] {
            let got = try ExactAttention.forward(x, options: options(c, hugeWindow), blocking: blocking)
            let want = try ExactAttention.forward(x, options: options(c, meaning), blocking: blocking)
            #expect(got.output.data == want.output.data && got.lse.data == want.lse.data, "window \(hugeWindow)")
        }
        // The reductions read the same rule.
        let layout = try ShardLayout(keys: c.sk, shards: 3)
        for reduction in [Reduction.tree(.binary), .ring, .algorithm3] {
            let got = try ShardedAttention.forward(
                x, options: options(c, hugeWindow), layout: layout, reduction: reduction)
            let want = try ShardedAttention.forward(
                x, options: options(c, meaning), layout: layout, reduction: reduction)
            #expect(got.result.output.data == want.result.output.data && got.result.lse.data == want.result.lse.data)
        }
    }

    @Test(arguments: 0..<equivalents.count)
    func hugeWindowsInTheEnergyAreUnbounded(_ n: Int) throws {
        let (c, hugeWindow, meaning) = Self.equivalents[n]
        let x = c.inputs()
        let got = try AttentionEnergy(inputs: x, options: options(c, hugeWindow))
        let want = try AttentionEnergy(inputs: x, options: options(c, meaning))
        #expect(try got.partial().output.data == (try want.partial().output.data))
        #expect(try got.value().data == (try want.value().data))
        #expect(try got.partial(keys: 2..<4).lse.data == (try want.partial(keys: 2..<4).lse.data))
    }

    @Test(arguments: [
        ([0, Int.max], [0, -1], 3, 8), ([Int.max, 0], [-1, 0], 9, 4), ([-1, Int.max], [-1, -1], 2, 5),
    ])
    func hugeWindowsInAGoldenCaseAreUnbounded(_ window: [Int], _ meaning: [Int], _ sq: Int, _ sk: Int) throws {
        func golden(_ w: [Int]) throws -> GoldenCase {
            try GoldenCase(
                spec: GoldenCaseSpec(
                    name: "w", heads: 2, seqQ: sq, seqK: sk, headDim: 8, window: w, seed: 5, splits: [2]),
                dtype: .bf16)
        }
        let got = try golden(window), want = try golden(meaning)
        for (a, b) in zip(got.file.tensors, want.file.tensors) {
            #expect(a.name == b.name && a.data == b.data, "\(a.name)")
        }
        #expect(got.outputTolerance == want.outputTolerance)
        #expect(got.file.metadata["case"]!.contains("\"window\":[\(window[0]),\(window[1])]"))
    }
}

func oneLineMessage(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        let m = "\(error)"
        #expect(!m.contains("\n") && !m.contains("\r"), "not one line: \(m)")
        return m
    }
}

@Suite struct CheckerHardeningTests {
    @Test func goldenAndResultTensorsOfTheWrongRankAreOneLineErrors() throws {
        let (golden, results, cases) = try CheckerTests.setUp()
        let c = cases[0]
        let path = golden + "/\(c.name).safetensors"
        let original = try SafetensorsFile.read(path)
        func run() throws { _ = try GoldenChecker(goldenFolder: golden, results: results).run() }
        // A result `out` of rank 3 (the golden is rank 4).
        try SafetensorsFile(tensors: [
            ("out", TensorData(values: [Double](repeating: 0, count: 80), shape: [2, 5, 8], dtype: .f32))
        ])
        .write(to: results + "/\(c.name).safetensors")
        #expect(oneLineMessage(run).contains("out has shape [2, 5, 8] (rank 3)"))
        // A golden `out` of rank 3 and of rank 1: refused, no crash.
        for shape in [[2, 5, 8], [80]] {
            var file = original
            file.tensors = file.tensors.map {
                $0.name == "out"
                    ? ("out", try! TensorData(values: [Double](repeating: 0, count: 80), shape: shape, dtype: .f64))
                    : $0
            }
            try file.write(to: path)
            #expect(oneLineMessage(run).contains("not a golden file: out has shape \(shape)"))
        }
        // A golden `lse` that does not match `out`.
        var file = original
        file.tensors = file.tensors.map {
            $0.name == "lse" ? ("lse", try! TensorData(values: [0, 0], shape: [2], dtype: .f64)) : $0
        }
        try file.write(to: path)
        #expect(oneLineMessage(run).contains("lse [2]"))
        // A result lse of the wrong rank.
        try original.write(to: path)
        try SafetensorsFile(tensors: [
            ("out", c.file["out"]!), ("lse", TensorData(values: [1], shape: [1], dtype: .f32)),
        ])
        .write(to: results + "/\(c.name).safetensors")
        #expect(oneLineMessage(run).contains("lse has shape [1]"))
    }

    @Test func theJSONReportEscapesNamesAndNotes() throws {
        let name = "a\"b\\c\nd\te\u{1}"
        let rows = [
            GoldenChecker.Row(
                caseName: name, tensor: "out", maxAbs: .nan, maxRel: .infinity, normwiseRel: 0.5,
                worstIndex: [0, 1, 2, 3], atol: 1e-3, passed: false, note: "layout \"x\"\n"),
            GoldenChecker.Row(
                caseName: "b", tensor: "lse", maxAbs: 0, maxRel: 0, normwiseRel: 0, worstIndex: [],
                atol: 1, passed: true, note: ""),
        ]
        let text = GoldenChecker.jsonReport(rows)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["passed"] as? Bool == false && object["failed"] as? Int == 1)
        let parsed = try #require(object["rows"] as? [[String: Any]])
        #expect(parsed[0]["case"] as? String == name)
        #expect(parsed[0]["note"] as? String == "layout \"x\"\n")
        #expect(parsed[0]["max_abs"] as? String == "nan" && parsed[0]["max_rel"] as? String == "inf")
        #expect(parsed[0]["worst_index"] as? [Int] == [0, 1, 2, 3] && parsed[1]["worst_index"] as? [Int] == [])
        #expect(try StrictJSON.parse(Array(text.utf8)) != .null, "strict JSON too")
    }
}

@Suite struct SplitsAndNamesTests {
    @Test func duplicateAndOutOfRangeSplitsAreRefused() {
        func spec(_ splits: [Int]) -> GoldenCaseSpec {
            GoldenCaseSpec(name: "s", seqQ: 1, seqK: 9, headDim: 8, splits: splits)
        }
        #expect(
            oneLineMessage { try spec([3, 3]).validate() }
                == "invalid option: case 's': split 3 is listed twice (each p has its own tree.p<p>.* tensors)")
        #expect(
            oneLineMessage { _ = try GoldenCase(spec: spec([2, 5, 2]), dtype: .bf16) }.contains(
                "split 2 is listed twice"))
        #expect(oneLineMessage { try spec([0]).validate() }.contains("split 0 outside 1...4096"))
        #expect(oneLineMessage { try spec([4097]).validate() }.contains("split 4097 outside 1...4096"))
        #expect(oneLineMessage { try spec([1, 2, 3]).validate() } == "no error")
    }

    @Test func safetensorsNamesMustBeUnique() throws {
        let t = try TensorData(values: [1, 2], shape: [2], dtype: .f32)
        #expect(
            oneLineMessage { _ = try SafetensorsFile(tensors: [("a", t), ("a", t)]).encode() }.contains(
                "tensor name 'a' is used twice"))
        let dir = try temporaryFolder("dup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(
            oneLineMessage {
                try SafetensorsFile(tensors: [("a\nb", t), ("a\nb", t)]).write(to: dir + "/d.safetensors")
            }
            .contains("'a\\nb' is used twice"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/d.safetensors"))
        #expect(
            oneLineMessage { _ = try SafetensorsFile(tensors: [("__metadata__", t)]).encode() }.contains(
                "cannot name a tensor"))
    }
}
