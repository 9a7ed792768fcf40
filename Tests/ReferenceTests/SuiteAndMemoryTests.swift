import Foundation
import Testing

@testable import Reference

/// `GoldenCaseSpec.parseSuite`: the strict reader of suite files (YAML and JSON, through `StructuredText.load`).
@Suite struct StrictSuiteTests {
    static let minimal = "- name: a\n  seq_q: 1\n  seq_k: 9\n  head_dim: 8\n"

    func parse(_ text: String, json: Bool = false) throws -> [GoldenCaseSpec] {
        try GoldenCaseSpec.parseSuite(try StructuredText.load(text, json: json), context: "s.yaml")
    }

    func message(_ text: String, json: Bool = false) -> String { oneLineMessage { _ = try parse(text, json: json) } }

    @Test func theExampleSuiteAndEveryKeyAreRead() throws {
        let text = String(
            decoding: try AtomicFile.read(repositoryRoot + "/fixtures/golden/custom-suite.yaml"), as: UTF8.self)
        let specs = try parse(text)
        #expect(specs.map(\.name) == ["llama-decode-gqa", "gemma-softcap-window", "alibi-cache"])
        // The same cases as the lenient Codable decoding gave.
        let root = try #require(try StructuredText.load(text, json: false) as? [Any])
        let data = try JSONSerialization.data(withJSONObject: root.map { SuiteValue.mapping($0)! })
        #expect(specs == (try JSONDecoder().decode([GoldenCaseSpec].self, from: data)))
        let all = """
            cases:
              - {name: full, batch: 2, heads: 4, kv_heads: 2, seq_q: 3, seq_k: 20, head_dim: 8, value_dim: 6, causal: bottom-right,
                 window: [4, -1], softcap: 30, scale: 0.5, alibi: true, cache_seqlens: [20, 7], std: 2.5, seed: 12, splits: [1, 3]}
            """
        let full = try #require(try parse(all).first)
        #expect(
            full
                == GoldenCaseSpec(
                    name: "full", batch: 2, heads: 4, kvHeads: 2, seqQ: 3, seqK: 20, headDim: 8, valueDim: 6,
                    causal: "bottom-right", window: [4, -1], softcap: 30, scale: 0.5, alibi: true,
                    cacheSeqlens: [20, 7], std: 2.5, seed: 12, splits: [1, 3]))
        let json = """
            [{"name": "j", "seq_q": 2, "seq_k": 5, "head_dim": 4, "alibi": false, "softcap": 20, "std": 1.5, "window": [1, 9223372036854775807]}]
            """
        #expect(try parse(json, json: true).first?.window == [1, Int.max])
        #expect(try parse(json, json: true).first?.softcap == 20)
    }

    @Test(arguments: [
        ("kv_head: 2", "unknown key 'kv_head' (known keys: name, batch, heads, kv_heads,"),
        ("casual: bottom-right", "unknown key 'casual'"),
        ("heads: '4'", "'heads' must be an integer, got the string '4'"),
        ("heads: 4.5", "'heads' must be an integer, got 4.5"),
        ("heads: 4.0", "'heads' must be an integer, got 4.0"),
        ("heads: true", "'heads' must be an integer, got true"),
        ("heads: 0", "'heads' must be in 1...4096, got 0"),
        ("batch: 5000", "'batch' must be in 1...4096, got 5000"),
        ("alibi: 1", "'alibi' must be true or false, got 1"),
        ("alibi: 'yes'", "'alibi' must be true or false"),
        ("causal: sideways", "'causal' must be none, top-left or bottom-right, got the string 'sideways'"),
        ("window: [1]", "'window' must be [left, right]"),
        ("window: 3", "'window' must be a list of integers, got 3"),
        ("window: [-2, 0]", "'window[0]' must be in -1..."),
        ("splits: [3, 3]", "split 3 is listed twice"),
        ("splits: [0]", "'splits[0]' must be in 1...4096, got 0"),
        ("splits: [2.5]", "'splits[0]' must be an integer, got 2.5"),
        ("softcap: -1", "softcap must be a positive finite number, got -1.0"),
        ("softcap: .inf", "'softcap' must be a finite number"),
        ("std: x", "'std' must be a finite number, got the string 'x'"),
        ("seed: -1", "'seed' must be in 0..."),
        ("cache_seqlens: [3, 4]", "cache_seqlens needs one length per batch row (1), got 2"),
        ("kv_heads: 3", "heads (2) must be a multiple of kv_heads (3)"),
        ("\"bad\\nkey\": 1", "unknown key 'bad\\nkey'"),
    ])
    func refusedKeysAndValues(_ line: String, _ expected: String) {
        let m = message(Self.minimal + "  " + line + "\n")
        #expect(m.contains(expected), "\(line): \(m)")
        #expect(m.hasPrefix("s.yaml: case 1 ('a'): "), "\(m)")
    }

    @Test func refusedSuites() {
        #expect(
            message("- name: a\n  seq_k: 9\n  head_dim: 8\n").contains("case 1 ('a'): missing required key 'seq_q'"))
        #expect(message("- seq_q: 1\n  seq_k: 9\n  head_dim: 8\n").contains("case 1: missing required key 'name'"))
        #expect(message("- name: 7\n  seq_q: 1\n  seq_k: 9\n  head_dim: 8\n").contains("'name' must be a string"))
        #expect(
            message("- name: \"a\\nb\"\n  seq_q: 1\n  seq_k: 9\n  head_dim: 8\n").contains(
                "case 1 ('a\\nb'): name must be letters"))
        #expect(message(Self.minimal + Self.minimal).contains("case 2: name 'a' is used by an earlier case"))
        #expect(message("cases: []").contains("the suite has no cases"))
        #expect(message("name: x\ncases: []").contains("unknown key 'name' at the top level"))
        #expect(
            message("just text").contains(
                "not a list of golden cases (a list, or a mapping with the one key 'cases'): got a string"))
        #expect(message("- 3").contains("case 1: expected a mapping of case keys, got a number"))
        // JSON: Foundation's numbers and booleans are told apart too.
        let base = "\"name\": \"a\", \"seq_q\": 1, \"seq_k\": 9, \"head_dim\": 8"
        #expect(message("[{\(base), \"alibi\": 1}]", json: true).contains("'alibi' must be true or false, got 1"))
        #expect(message("[{\(base), \"heads\": true}]", json: true).contains("'heads' must be an integer, got true"))
        #expect(message("[{\(base), \"heads\": 2.5}]", json: true).contains("'heads' must be an integer, got 2.5"))
        #expect(message("[{\(base), \"kv_head\": 1}]", json: true).contains("unknown key 'kv_head'"))
        #expect(message("[{\(base), \"alibi\": true, \"heads\": 4}]", json: true) == "no error")
    }
}

/// Memory estimates are checked against a budget passed in (tests run in parallel: no process-wide state).
@Suite struct MemoryEstimateTests {
    static let small = MemoryBudget(limitBytes: 1 << 20)

    @Test func manyShardsWithATreeAreRefusedBeforeComputing() throws {
        let c = NaiveOracle.Case(sq: 4, sk: 8, d: 4, dv: 4)
        let x = c.inputs()
        let layout = try ShardLayout(keys: 8, shards: 65536)
        // 65536 leaves + 65535 binary nodes, each 1 x 2 x 4 x (4 + 1) doubles: 20.9 MB > 1 MiB.
        let estimate = try ShardedAttention.estimatedBytes(x, layout: layout, reduction: .tree(.binary))
        #expect(estimate == (65536 + 65535) * 2 * 4 * 5 * 8 + x.q.count * 8 + x.k.count * 8 + x.v.count * 8)
        let start = Date()
        let m = oneLineMessage {
            _ = try ShardedAttention.forward(
                x, options: c.options, layout: layout, reduction: .tree(.binary), budget: Self.small)
        }
        #expect(
            m.contains(
                "attention over 65536 shards with the binary reduction needs about 41.9 MB, more than the 1.0 MB memory limit"
            ), "\(m)")
        #expect(Date().timeIntervalSince(start) < 5, "refused before computing")
        #expect(
            oneLineMessage {
                _ = try ShardedAttention.forward(
                    x, options: c.options, layout: layout, reduction: .algorithm3, budget: Self.small)
            }
            .contains("needs about 21.0 MB"))
        // Within the budget it runs.
        let few = try ShardLayout(keys: 8, shards: 4)
        _ = try ShardedAttention.forward(
            x, options: c.options, layout: few, reduction: .tree(.binary), budget: Self.small)
        _ = try ShardedAttention.forward(x, options: c.options, layout: layout, reduction: .exact, budget: Self.small)
    }

    @Test func goldenSplitsAreEstimatedBeforeGenerating() throws {
        let spec = GoldenCaseSpec(name: "big-split", heads: 2, seqQ: 16, seqK: 64, headDim: 8, seed: 1, splits: [4096])
        let estimate = try spec.estimatedBytes()
        // 3 golden copies + 3 x (4096 leaves + 4095 nodes) partials of 1 x 2 x 16 x 9 doubles, + 3 copies of the inputs.
        #expect(estimate == (3 + 3 * (4096 + 4095)) * 2 * 16 * 9 * 8 + 3 * 8 * spec.inputElements)
        let start = Date()
        #expect(
            oneLineMessage { _ = try GoldenCase(spec: spec, dtype: .bf16, budget: Self.small) }
                .contains("golden case 'big-split' needs about 56.7 MB, more than the 1.0 MB memory limit"))
        #expect(Date().timeIntervalSince(start) < 5)
        var fine = spec
        fine.splits = [3]
        _ = try GoldenCase(spec: fine, dtype: .bf16, budget: Self.small)
        // An estimate that overflows is refused the same way.
        let huge = GoldenCaseSpec(
            name: "h", batch: 4096, heads: 4096, seqQ: 1 << 20, seqK: 1, headDim: 1, valueDim: 4096, splits: [4096])
        #expect(oneLineMessage { _ = try huge.estimatedBytes() }.contains("size overflows"))
    }
}
