import Foundation

extension GoldenCaseSpec {
    /// Every key a case may have, in the order the docs list them.
    public static let knownKeys = [
        "name", "batch", "heads", "kv_heads", "seq_q", "seq_k", "head_dim", "value_dim", "causal",
        "window", "softcap", "scale", "alibi", "cache_seqlens", "std", "seed", "splits",
        "layout", "seqlens_q", "seqlens_k", "page_size", "page_layout", "partials", "lse_base",
        "sinks", "sink_tokens", "dlse", "mla", "rope_dim", "latent_dim", "rope_layout", "rotary_dim", "rope_theta",
        "rope_scaling", "rope_positions", "cache_leftpad", "attention_chunk", "new_tokens", "cache_batch_idx",
        "cache_rows", "seqused_q", "seqused_k", "fp8", "descale", "fp8_edges", "kv_fp8", "kv_scale", "dropout_p",
        "documents", "sparse", "block_size", "block_density",
    ]

    /// Strict reader of a suite file's content (as `StructuredText.load` returns it): a list of cases, or a mapping
    /// whose only key is `cases`. Unknown or misspelled keys, missing required keys, wrong types, out-of-range values
    /// and repeated case names are one-line errors that start with `context` (the file's path) and name the case and
    /// the key. Every case is validated (`validate()`).
    public static func parseSuite(_ value: Any?, context: String) throws -> [GoldenCaseSpec] {
        func fail(_ problem: String) -> ReferenceError { .file(path: context, problem: problem) }
        var root = value
        if let mapping = SuiteValue.mapping(root) {
            if let bad = mapping.keys.sorted().first(where: { $0 != "cases" }) {
                throw fail(
                    "unknown key \(TextEscaping.quoted(bad)) at the top level (a suite is a list of cases, or a mapping with the one key 'cases')"
                )
            }
            root = mapping["cases"]
        }
        guard let list = root as? [Any] else {
            throw fail(
                "not a list of golden cases (a list, or a mapping with the one key 'cases'): got \(SuiteValue.typeName(root))"
            )
        }
        guard !list.isEmpty else { throw fail("the suite has no cases") }
        var names = Set<String>()
        return try list.enumerated().map { index, item in
            let spec = try parseCase(item, context: "\(context): case \(index + 1)")
            guard names.insert(spec.name).inserted else {
                throw fail("case \(index + 1): name \(TextEscaping.quoted(spec.name)) is used by an earlier case")
            }
            return spec
        }
    }

    /// Strict reader of one case mapping (see `parseSuite`); `context` starts every error message.
    public static func parseCase(_ value: Any?, context: String) throws -> GoldenCaseSpec {
        guard let mapping = SuiteValue.mapping(value) else {
            throw ReferenceError.file(
                path: context, problem: "expected a mapping of case keys, got \(SuiteValue.typeName(value))")
        }
        var context = context
        if let name = mapping["name"] as? String { context += " (\(TextEscaping.quoted(name)))" }
        func fail(_ problem: String) -> ReferenceError { .file(path: context, problem: problem) }
        if let bad = mapping.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw fail("unknown key \(TextEscaping.quoted(bad)) (known keys: \(knownKeys.joined(separator: ", ")))")
        }
        func present(_ key: String) -> Any? {
            guard let v = mapping[key], !(v is NSNull) else { return nil }
            return v
        }
        func required(_ key: String) throws -> Any {
            guard let v = present(key) else { throw fail("missing required key '\(key)'") }
            return v
        }
        func int(_ key: String, _ v: Any?, range: ClosedRange<Int>) throws -> Int? {
            guard let v else { return nil }
            guard let i = SuiteValue.integer(v) else {
                throw fail("'\(key)' must be an integer, got \(SuiteValue.describe(v))")
            }
            guard range.contains(i) else {
                throw fail("'\(key)' must be in \(range.lowerBound)...\(range.upperBound), got \(i)")
            }
            return i
        }
        func intList(_ key: String, range: ClosedRange<Int>) throws -> [Int]? {
            guard let v = present(key) else { return nil }
            guard let list = v as? [Any] else {
                throw fail("'\(key)' must be a list of integers, got \(SuiteValue.describe(v))")
            }
            return try list.enumerated().map { n, x in try int("\(key)[\(n)]", x, range: range)! }
        }
        func number(_ key: String) throws -> Double? {
            guard let v = present(key) else { return nil }
            guard let d = SuiteValue.number(v), d.isFinite else {
                throw fail("'\(key)' must be a finite number, got \(SuiteValue.describe(v))")
            }
            return d
        }
        let dims = 1...4096, seqs = 0...(1 << 20)
        guard let name = try required("name") as? String else { throw fail("'name' must be a string") }
        let causal: String?
        if let c = present("causal") {
            guard let s = c as? String, CausalMode(rawValue: s) != nil else {
                throw fail("'causal' must be none, top-left or bottom-right, got \(SuiteValue.describe(c))")
            }
            causal = s
        } else {
            causal = nil
        }
        let alibi: Bool?
        if let a = present("alibi") {
            guard let b = SuiteValue.boolean(a) else {
                throw fail("'alibi' must be true or false, got \(SuiteValue.describe(a))")
            }
            alibi = b
        } else {
            alibi = nil
        }
        let window = try intList("window", range: -1...Int.max)
        if let window, window.count != 2 {
            throw fail("'window' must be [left, right] (-1 = unbounded), got \(window.count) values")
        }
        let seed = try int("seed", present("seed"), range: 0...Int.max)
        func string(_ key: String) throws -> String? {
            guard let v = present(key) else { return nil }
            guard let s = v as? String, type(of: v) == String.self else {
                throw fail("'\(key)' must be a string, got \(SuiteValue.describe(v))")
            }
            return s
        }
        let layout = try string("layout")
        // The keys of today's kernels (issue 25), the same on every layout (validate() refuses the misplaced ones).
        func numberList(_ key: String) throws -> [Double]? {
            guard let v = present(key) else { return nil }
            guard let list = v as? [Any] else {
                throw fail("'\(key)' must be a list of numbers, got \(SuiteValue.describe(v))")
            }
            return try list.enumerated().map { n, x in
                guard let d = SuiteValue.number(x), d.isFinite else {
                    throw fail("'\(key)[\(n)]' must be a finite number, got \(SuiteValue.describe(x))")
                }
                return d
            }
        }
        func boolean(_ key: String) throws -> Bool? {
            guard let v = present(key) else { return nil }
            guard let b = SuiteValue.boolean(v) else {
                throw fail("'\(key)' must be true or false, got \(SuiteValue.describe(v))")
            }
            return b
        }
        func addFeatures(_ spec: inout GoldenCaseSpec) throws {
            spec.sinks = try numberList("sinks")
            spec.sinkTokens = try int("sink_tokens", present("sink_tokens"), range: 0...(1 << 20))
            spec.dlse = try boolean("dlse")
            spec.mla = try string("mla")
            spec.ropeDim = try int("rope_dim", present("rope_dim"), range: 1...1024)
            spec.latentDim = try int("latent_dim", present("latent_dim"), range: 1...4096)
            spec.ropeLayout = try string("rope_layout")
            spec.rotaryDim = try int("rotary_dim", present("rotary_dim"), range: 1...4096)
            spec.ropeTheta = try number("rope_theta")
            spec.ropeScaling = try string("rope_scaling")
            spec.ropePositions = try string("rope_positions")
            spec.cacheLeftpad = try intList("cache_leftpad", range: seqs)
            spec.attentionChunk = try int("attention_chunk", present("attention_chunk"), range: 1...(1 << 20))
            spec.newTokens = try int("new_tokens", present("new_tokens"), range: seqs)
            spec.cacheBatchIndex = try intList("cache_batch_idx", range: 0...4095)
            spec.cacheRows = try int("cache_rows", present("cache_rows"), range: dims)
            spec.sequsedQ = try intList("seqused_q", range: 0...(1 << 16))
            spec.sequsedK = try intList("seqused_k", range: 0...(1 << 16))
            spec.fp8 = try string("fp8")
            spec.descale = try string("descale")
            spec.fp8Edges = try boolean("fp8_edges")
            spec.kvFp8 = try string("kv_fp8")
            spec.kvScale = try string("kv_scale")
            spec.dropoutP = try number("dropout_p")
            spec.documents = try intList("documents", range: 0...(1 << 20))
            spec.sparse = try string("sparse")
            spec.blockSize = try intList("block_size", range: 1...4096)
            spec.blockDensity = try number("block_density")
        }
        if layout == GoldenLayout.varlen.rawValue {
            // A varlen case's batch and lengths come from its sequences.
            if let bad = ["batch", "seq_q", "seq_k"].first(where: { present($0) != nil }) {
                throw fail("'\(bad)' does not apply to a varlen case (seqlens_q and seqlens_k give the sequences)")
            }
            let q = try intList("seqlens_q", range: 0...(1 << 16)), k = try intList("seqlens_k", range: 0...(1 << 16))
            guard let q, let k else { throw fail("a varlen case needs seqlens_q and seqlens_k") }
            guard q.count == k.count, !q.isEmpty, q.count <= 4096 else {
                throw fail(
                    "seqlens_q and seqlens_k need the same number (1...4096) of sequences, got \(q.count) and \(k.count)"
                )
            }
            var spec = GoldenCaseSpec.varlen(
                name: name, heads: try int("heads", present("heads"), range: dims) ?? 2,
                kvHeads: try int("kv_heads", present("kv_heads"), range: dims), seqlensQ: q, seqlensK: k,
                headDim: try int("head_dim", try required("head_dim"), range: dims)!,
                valueDim: try int("value_dim", present("value_dim"), range: dims), causal: causal, window: window,
                softcap: try number("softcap"), alibi: alibi, seed: seed.map(UInt64.init))
            spec.scale = try number("scale")
            spec.std = try number("std")
            spec.cacheSeqlens = try intList("cache_seqlens", range: seqs)
            spec.splits = try intList("splits", range: 1...maxSplit)
            for key in ["page_size", "page_layout", "partials", "lse_base"] where present(key) != nil {
                throw fail("'\(key)' does not apply to a varlen case")
            }
            try addFeatures(&spec)
            if let problem = spec.validationProblem() { throw fail(problem) }
            return spec
        }
        var spec = GoldenCaseSpec(
            name: name, batch: try int("batch", present("batch"), range: dims) ?? 1,
            heads: try int("heads", present("heads"), range: dims) ?? 2,
            kvHeads: try int("kv_heads", present("kv_heads"), range: dims),
            seqQ: try int("seq_q", try required("seq_q"), range: seqs)!,
            seqK: try int("seq_k", try required("seq_k"), range: seqs)!,
            headDim: try int("head_dim", try required("head_dim"), range: dims)!,
            valueDim: try int("value_dim", present("value_dim"), range: dims), causal: causal, window: window,
            softcap: try number("softcap"), scale: try number("scale"), alibi: alibi,
            cacheSeqlens: try intList("cache_seqlens", range: seqs), std: try number("std"),
            seed: seed.map(UInt64.init),
            splits: try intList("splits", range: 1...maxSplit), layout: layout,
            seqlensQ: try intList("seqlens_q", range: 0...(1 << 16)),
            seqlensK: try intList("seqlens_k", range: 0...(1 << 16)),
            pageSize: try int("page_size", present("page_size"), range: 1...4096),
            pageLayout: try string("page_layout"),
            partials: try int("partials", present("partials"), range: 2...1024), lseBase: try string("lse_base"))
        try addFeatures(&spec)
        if let problem = spec.validationProblem() { throw fail(problem) }
        return spec
    }
}

/// Classifies the plain values of a loaded YAML (Yams: Int, Double, Bool, String) or JSON (Foundation: NSNumber) file
/// without the lenient bridging of `as? Int` (which takes `true` as 1 and `4.5` as nothing, or `4.0` as 4).
enum SuiteValue {
    static func mapping(_ v: Any?) -> [String: Any]? {
        if let d = v as? [String: Any] { return d }
        if let d = v as? [AnyHashable: Any] {
            var out: [String: Any] = [:]
            for (k, x) in d { out[(k.base as? String) ?? String(describing: k.base)] = x }
            return out
        }
        return nil
    }

    private static func numberType(_ n: NSNumber) -> Character { String(cString: n.objCType).first ?? "?" }

    static func boolean(_ v: Any) -> Bool? {
        if type(of: v) == Bool.self { return v as? Bool }
        if type(of: v) == Int.self || type(of: v) == Double.self || type(of: v) == String.self { return nil }
        if let n = v as? NSNumber, numberType(n) == "c" { return n.boolValue }
        return nil
    }

    static func integer(_ v: Any) -> Int? {
        if type(of: v) == Int.self { return v as? Int }
        if type(of: v) == Bool.self || type(of: v) == Double.self || type(of: v) == String.self { return nil }
        if let n = v as? NSNumber, "qlisQLIS".contains(numberType(n)) {
            return numberType(n) == "Q" || numberType(n) == "L"
                ? Int(exactly: n.uint64Value) : Int(exactly: n.int64Value)
        }
        return nil
    }

    static func number(_ v: Any) -> Double? {
        if let i = integer(v) { return Double(i) }
        if type(of: v) == Double.self { return v as? Double }
        if type(of: v) == Bool.self || type(of: v) == String.self { return nil }
        if let n = v as? NSNumber, "df".contains(numberType(n)) { return n.doubleValue }
        return nil
    }

    static func typeName(_ v: Any?) -> String {
        guard let v, !(v is NSNull) else { return "nothing" }
        if v is String { return "a string" }
        if boolean(v) != nil { return "a boolean" }
        if number(v) != nil { return "a number" }
        if v is [Any] { return "a list" }
        if mapping(v) != nil { return "a mapping" }
        return "a \(type(of: v))"
    }

    /// The value as it would be written, quoted and escaped, cut short.
    static func describe(_ v: Any) -> String {
        if let s = v as? String, type(of: v) == String.self { return "the string " + TextEscaping.quoted(s, limit: 40) }
        if let b = boolean(v) { return "\(b)" }
        if let i = integer(v) { return "\(i)" }
        if let d = number(v) { return "\(d)" }
        return typeName(v)
    }
}
