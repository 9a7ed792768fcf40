import Foundation
import Testing

@testable import Reference

/// Varlen, paged KV caches and merge-state cases: the reference, the goldens, the suite keys and the checker.
@Suite struct LayoutTests {
    static func packed(_ total: Int, _ heads: Int, _ dim: Int, seed: UInt64) throws -> Tensor<Double> {
        var g = SeededGenerator(seed: seed)
        return try Tensor(shape: [total, heads, dim], data: g.normals(total * heads * dim))
    }

    /// Varlen equals each sequence run alone (the oracle, with its own causal alignment); NaN planted in one
    /// sequence's Q, K and V never reaches another's output; padding rows past the last offset give (0, -inf).
    @Test func varlenSequencesNeverSeeEachOther() throws {
        let layout = try VarlenLayout(cuSeqlensQ: [0, 3, 3, 10], cuSeqlensK: [0, 8, 13, 20], totalQ: 12, totalK: 22)
        let (q, k, v) = (
            try Self.packed(12, 4, 8, seed: 1), try Self.packed(22, 2, 8, seed: 2), try Self.packed(22, 2, 6, seed: 3)
        )
        let options = AttentionOptions(causal: .bottomRight, window: SlidingWindow(left: 5, right: 0), softcap: 4)
        let clean = try VarlenAttention.forward(
            q: q, k: k, v: v, layout: layout, options: options,
            blocking: KernelBlocking(queryRows: 2, keys: 3))
        for i in 0..<layout.sequences {
            let rq = layout.queries(i), rk = layout.keys(i)
            var c = NaiveOracle.Case(
                b: 1, hq: 4, hkv: 2, sq: rq.count, sk: rk.count, d: 8, dv: 6, causal: .bottomRight,
                window: (5, 0), softcap: 4)
            c.seed = 0
            let x = try AttentionInputs(
                q: VarlenAttention.slice(q, rq), k: VarlenAttention.slice(k, rk), v: VarlenAttention.slice(v, rk))
            let (o, l) = NaiveOracle.attention(c, x)
            for (n, row) in rq.enumerated() {
                for h in 0..<4 {
                    #expect(abs(clean.lse[h, row] - l[h * rq.count + n]) < 1e-12)
                    for e in 0..<6 { #expect(abs(clean.output[row, h, e] - o[(h * rq.count + n) * 6 + e]) < 1e-12) }
                }
            }
        }
        // Poison sequence 1 (keys 8..<13, no queries) and sequence 2's queries; sequences 0 and 2 keep their outputs.
        var (q2, k2, v2) = (q, k, v)
        for j in 8..<13 {
            for h in 0..<2 {
                k2[j, h, 0] = .nan
                v2[j, h, 1] = .infinity
            }
        }
        for j in 20..<22 { for h in 0..<2 { k2[j, h, 3] = .nan } }  // padding keys
        q2[10, 0, 0] = .nan  // a padding query row
        let poisoned = try VarlenAttention.forward(q: q2, k: k2, v: v2, layout: layout, options: options)
        #expect(poisoned.output.data[0..<(10 * 4 * 6)].allSatisfy { $0.isFinite })
        #expect(relativeError(Array(poisoned.output.data[0..<240]), Array(clean.output.data[0..<240])) < 1e-15)
        for row in 10..<12 {
            for h in 0..<4 { #expect(poisoned.lse[h, row] == -.infinity && poisoned.output[row, h, 0] == 0) }
        }
        // Bad offsets and options are one-line errors.
        #expect(throws: ReferenceError.self) {
            try VarlenLayout(cuSeqlensQ: [0, 5, 3], cuSeqlensK: [0, 1, 2], totalQ: 5, totalK: 2)
        }
        #expect(throws: ReferenceError.self) {
            try VarlenLayout(cuSeqlensQ: [1, 5], cuSeqlensK: [0, 1], totalQ: 5, totalK: 2)
        }
        #expect(throws: ReferenceError.self) {
            try VarlenLayout(cuSeqlensQ: [0, 13], cuSeqlensK: [0, 1], totalQ: 12, totalK: 2)
        }
        #expect(throws: ReferenceError.self) {
            try VarlenLayout(cuSeqlensQ: [0, 1], cuSeqlensK: [0, 1, 2], totalQ: 5, totalK: 2)
        }
        #expect(throws: ReferenceError.self) {
            try VarlenAttention.forward(q: q, k: k, v: v, layout: layout, options: AttentionOptions(cacheSeqlens: [1]))
        }
    }

    /// Pages in NHD and HND gather back to the dense cache; the block table's unread entries may name anything; a
    /// read entry outside the pages, or a row longer than its table, is refused.
    @Test(arguments: PageLayout.allCases)
    func pagedCacheGathersBack(_ layout: PageLayout) throws {
        let spec = GoldenCaseSpec(
            name: "p", batch: 3, heads: 4, kvHeads: 2, seqQ: 2, seqK: 23, headDim: 8, valueDim: 5,
            cacheSeqlens: [23, 7, 0], seed: 4, layout: "paged", pageSize: 5, pageLayout: layout.rawValue)
        let c = try GoldenCase(spec: spec, dtype: .f32)
        let kp = c.file["k_cache"]!.tensor(), vp = c.file["v_cache"]!.tensor()
        let table = c.file["block_table"]!.doubles().map { Int($0) }
        let rows = (0..<3).map { Array(table[$0 * 5..<($0 + 1) * 5]) }
        #expect(rows.flatMap { $0.prefix(1) } != [0, 1, 2] || rows[0] != [0, 1, 2, 3, 4], "pages shuffled")
        let cache = try PagedKVCache(
            kPages: kp, vPages: vp, layout: layout, blockTable: rows, cacheSeqlens: [23, 7, 0])
        #expect(cache.pageSize == 5 && cache.kvHeads == 2 && cache.pages == 5 + 2 + 0 + 2)
        let (k, v) = try cache.dense(capacity: 23, fill: .nan)
        // The golden's out equals the kernel on the gathered K/V (NaN in every slot past a length: never read).
        let q = c.file["q"]!.tensor()
        let r = try ExactAttention.forward(try AttentionInputs(q: q, k: k, v: v), options: spec.options())
        #expect(relativeError(r.output.data, c.file["out"]!.doubles()) < 1e-13)
        #expect(relativeError(r.lse.data, c.file["lse"]!.doubles()) < 1e-13)
        // Unused slots and pages are NaN; used ones are finite.
        let used = Set((0..<3).flatMap { b in rows[b].prefix(([23, 7, 0][b] + 4) / 5) })
        #expect(kp.data.contains { $0.isNaN } && !used.isEmpty)
        let csr = cache.flashInferIndices
        #expect(csr.indptr == [0, 5, 7, 7] && csr.lastPageLength == [3, 2, 0] && csr.indices.count == 7)
        #expect(c.file["kv_indices"]!.doubles().map { Int($0) } == csr.indices)
        var bad = rows
        bad[1][0] = 99
        #expect(throws: ReferenceError.self) {
            try PagedKVCache(kPages: kp, vPages: vp, layout: layout, blockTable: bad, cacheSeqlens: [23, 7, 0])
        }
        #expect(throws: ReferenceError.self) {
            try PagedKVCache(kPages: kp, vPages: vp, layout: layout, blockTable: rows, cacheSeqlens: [26, 7, 0])
        }
        bad = rows
        bad[2][0] = -5  // row 2 is empty: its entries are never read
        _ = try PagedKVCache(kPages: kp, vPages: vp, layout: layout, blockTable: bad, cacheSeqlens: [23, 7, 0])
    }

    /// Every built-in case of the new suites generates; varlen goldens equal the kernel on the file's packed tensors;
    /// merge goldens equal `MergeOperator` on the stored states (base converted); the same spec gives the same bytes.
    @Test(
        arguments: GoldenSuite.varlen.cases + GoldenSuite.pagedDecode.cases + GoldenSuite.pagedAppend.cases
            + GoldenSuite.merge.cases)
    func layoutCasesAgreeWithTheKernel(_ spec: GoldenCaseSpec) throws {
        let c = try GoldenCase(spec: spec, dtype: .bf16)
        #expect(try c.file.encode() == (try GoldenCase(spec: spec, dtype: .bf16).file.encode()))
        switch spec.goldenLayout {
        case .varlen:
            // (A case with seqused_q/k is checked in SequsedGoldenTests: its unused keys are NaN.)
            guard spec.sequsedQ == nil, spec.sequsedK == nil else { return }
            let layout = try VarlenLayout(seqlensQ: spec.seqlensQ!, seqlensK: spec.seqlensK!)
            #expect(
                c.file["cu_seqlens_q"]!.dtype == .i32
                    && c.file["cu_seqlens_q"]!.doubles().map { Int($0) } == layout.cuSeqlensQ)
            let r = try VarlenAttention.forward(
                q: c.file["q"]!.tensor(), k: c.file["k"]!.tensor(), v: c.file["v"]!.tensor(),
                layout: layout, options: spec.options())
            #expect(relativeError(r.output.data, c.file["out"]!.doubles()) < 1e-13)
            #expect(relativeError(r.lse.data, c.file["lse"]!.doubles()) < 1e-13)
        case .paged:
            #expect(
                c.file["k"] == nil && c.file["k_cache"] != nil
                    && c.file.metadata["kv_layout"] == "paged-\(spec.pageLayout!)")
        case .merge:
            let (n, h, d, rows) = (spec.partials!, spec.heads, spec.headDim, spec.seqQ)
            let ln2 = 0.6931471805599453, toE = spec.lseBase == "2" ? ln2 : 1
            var v: [Double] = [], s: [Double] = []
            if n == 2 {
                let va = c.file["v_a"]!.doubles(), vb = c.file["v_b"]!.doubles(), sa = c.file["s_a"]!.doubles(),
                    sb = c.file["s_b"]!.doubles()
                let (hd, rowV) = (h * d, h)
                for r in 0..<rows {
                    v += va[r * hd..<(r + 1) * hd]
                    v += vb[r * hd..<(r + 1) * hd]
                    s += sa[r * rowV..<(r + 1) * rowV]
                    s += sb[r * rowV..<(r + 1) * rowV]
                }
            } else {
                (v, s) = (c.file["v"]!.doubles(), c.file["s"]!.doubles())
            }
            let out = c.file["out"]!.doubles(), lse = c.file["lse"]!.doubles()
            var sawEmptyRow = false
            for r in 0..<rows {
                for head in 0..<h {
                    var merged = [Double](repeating: 0, count: d)
                    let states = (0..<n).map { s[(r * n + $0) * h + head] * toE }
                    let l = v.withUnsafeBufferPointer { vb in
                        MergeOperator.mergeRow(
                            outputs: (0..<n).map { vb.baseAddress! + ((r * n + $0) * h + head) * d },
                            lses: states, valueDim: d, into: &merged)
                    }
                    if l == -.infinity {
                        sawEmptyRow = true
                        #expect(lse[r * h + head] == -.infinity)
                    } else {
                        #expect(abs(lse[r * h + head] * toE - l) < 1e-12)
                    }
                    for e in 0..<d { #expect(abs(out[(r * h + head) * d + e] - merged[e]) < 1e-12) }
                }
            }
            #expect(sawEmptyRow && c.file.metadata["lse_base"] == (spec.lseBase ?? "e"))
        case .dense, .kvcache:
            Issue.record("not a layout case of these suites (kvcache: KVCacheGoldenTests)")
        }
    }

    /// Suite keys per layout: each layout takes its keys and refuses the others' (one line naming the key).
    @Test func layoutKeysAreStrict() throws {
        func message(_ text: String) -> String {
            oneLineMessage {
                _ = try GoldenCaseSpec.parseSuite(try StructuredText.load(text, json: false), context: "s.yaml")
            }
        }
        let varlen =
            "- {name: v, layout: varlen, seqlens_q: [3, 0, 5], seqlens_k: [9, 4, 5], head_dim: 8, causal: bottom-right}\n"
        let parsed = try GoldenCaseSpec.parseSuite(try StructuredText.load(varlen, json: false), context: "s.yaml")
        #expect(parsed[0].batch == 3 && parsed[0].seqQ == 5 && parsed[0].seqK == 9)
        #expect(
            message("- {name: v, layout: varlen, seqlens_q: [3], seqlens_k: [9], seq_q: 3, head_dim: 8}\n").contains(
                "'seq_q' does not apply to a varlen case"))
        #expect(
            message("- {name: v, layout: varlen, seqlens_q: [3, 1], seqlens_k: [9], head_dim: 8}\n").contains(
                "same number"))
        #expect(
            message("- {name: p, seq_q: 1, seq_k: 9, head_dim: 8, page_size: 4}\n").contains(
                "'page_size' does not apply to a dense case"))
        #expect(
            message("- {name: p, layout: paged, seq_q: 1, seq_k: 9, head_dim: 8, page_size: 4}\n").contains(
                "needs cache_seqlens"))
        #expect(
            message("- {name: p, layout: paged, seq_q: 1, seq_k: 9, head_dim: 8, page_sise: 4, cache_seqlens: [9]}\n")
                .contains("unknown key 'page_sise'"))
        #expect(
            message(
                "- {name: p, layout: paged, seq_q: 1, seq_k: 9, head_dim: 8, page_size: 4, page_layout: nhw, cache_seqlens: [9]}\n"
            ).contains("unknown page_layout 'nhw'"))
        #expect(
            message("- {name: m, layout: merge, seq_q: 4, seq_k: 0, head_dim: 8, partials: 1}\n").contains("partials"))
        #expect(
            message("- {name: m, layout: merge, seq_q: 4, seq_k: 0, head_dim: 8, partials: 3, lse_base: ten}\n")
                .contains("lse_base must be e or 2"))
        #expect(
            message("- {name: m, layout: merge, seq_q: 4, seq_k: 0, head_dim: 8, partials: 3, causal: top-left}\n")
                .contains("a merge case takes only"))
        #expect(
            message("- {name: m, layout: blocked, seq_q: 4, seq_k: 0, head_dim: 8}\n").contains(
                "unknown layout 'blocked'"))
        #expect(throws: ReferenceError.self) { _ = try GoldenCase(spec: parsed[0], dtype: .f32, backward: true) }
    }

    /// The checker reads varlen (rank 3, exact shape) and merge results under FlashInfer's names, converts LSE bases
    /// to the golden's, and fails an output just above its tolerance.
    @Test func checkerReadsLayoutResults() throws {
        let golden = try temporaryFolder("layout-golden"), results = try temporaryFolder("layout-results")
        defer { for f in [golden, results] { try? FileManager.default.removeItem(atPath: f) } }
        let cases = try [GoldenSuite.varlen.cases[1], GoldenSuite.merge.cases[0], GoldenSuite.pagedDecode.cases[0]]
            .map { try GoldenCase(spec: $0, dtype: .f32) }
        for c in cases { try c.file.write(to: golden + "/\(c.name).safetensors") }
        try AtomicFile.write(GoldenManifest(suite: "t", cases: cases).json, to: golden + "/manifest.json")
        // varlen: ours; merge: FlashInfer's names with base-2 LSE (the golden's base); paged: bshd.
        try SafetensorsFile(tensors: [("out", cases[0].file["out_f32"]!), ("lse", cases[0].file["lse_f32"]!)])
            .write(to: results + "/\(cases[0].name).safetensors")
        try SafetensorsFile(tensors: [("v_merged", cases[1].file["out_f32"]!), ("s_merged", cases[1].file["lse_f32"]!)])
            .write(to: results + "/\(cases[1].name).safetensors")
        try SafetensorsFile(
            tensors: [
                ("out", try TensorData(cases[2].file["out"]!.tensor().swappingAxes12(), dtype: .f32)),
                ("lse", cases[2].file["lse_f32"]!),
            ], metadata: ["layout": "bshd"]
        )
        .write(to: results + "/\(cases[2].name).safetensors")
        var rows = try GoldenChecker(goldenFolder: golden, results: results).run()
        #expect(
            rows.count == 6 && rows.allSatisfy { $0.passed },
            "\(rows.map { "\($0.caseName) \($0.tensor) \($0.passed)" })")
        // The merge LSE given in base e (declared): converted to the golden's base 2, still passes.
        let lseE = cases[1].file["lse"]!.doubles().map { $0 * 0.6931471805599453 }
        try SafetensorsFile(
            tensors: [
                ("v_merged", cases[1].file["out_f32"]!),
                ("s_merged", try TensorData(values: lseE, shape: cases[1].file["lse"]!.shape, dtype: .f32)),
            ],
            metadata: ["lse_base": "e"]
        ).write(to: results + "/\(cases[1].name).safetensors")
        rows = try GoldenChecker(goldenFolder: golden, results: results).run()
        #expect(rows.allSatisfy { $0.passed })
        // ... but undeclared, base-e numbers against a base-2 golden fail.
        try SafetensorsFile(tensors: [
            ("v_merged", cases[1].file["out_f32"]!),
            ("s_merged", try TensorData(values: lseE, shape: cases[1].file["lse"]!.shape, dtype: .f32)),
        ])
        .write(to: results + "/\(cases[1].name).safetensors")
        rows = try GoldenChecker(goldenFolder: golden, results: results).run()
        #expect(rows.filter { !$0.passed }.map(\.tensor) == ["lse"])
        // A varlen output of the wrong shape is a one-line error.
        try SafetensorsFile(tensors: [("out", try TensorData(values: [1, 2], shape: [2], dtype: .f32))])
            .write(to: results + "/\(cases[0].name).safetensors")
        #expect(
            oneLineMessage { _ = try GoldenChecker(goldenFolder: golden, results: results).run() }.contains(
                "the varlen golden is"))
    }
}
