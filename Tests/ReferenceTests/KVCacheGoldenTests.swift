import Foundation
import Testing
import TreeCore

@testable import Reference

/// Issue 25, part 4: flash_attn_with_kvcache's update (`KVCacheUpdate`) and the `kvcache` suite, against loops written
/// here and the BLAS kernel; the checker fails a kernel that writes the new token one slot off.
@Suite struct KVCacheGoldenTests {
    @Test func updateWritesTheNewTokensAndNothingElse() throws {
        var g = SeededGenerator(seed: 4)
        let kCache = try Tensor<Double>(shape: [3, 2, 6, 4], data: g.normals(144))
        let vCache = try Tensor<Double>(shape: [3, 2, 6, 3], data: g.normals(108))
        let kNew = try Tensor<Double>(shape: [2, 2, 2, 4], data: g.normals(32))
        let vNew = try Tensor<Double>(shape: [2, 2, 2, 3], data: g.normals(24))
        let update = try KVCacheUpdate(
            kCache: kCache, vCache: vCache, kNew: kNew, vNew: vNew, cacheSeqlens: [4, 0], batchIndex: [2, 0])
        let (k, v) = update.updated()
        #expect(update.lengthsAfter == [6, 2])
        for row in 0..<3 {
            for h in 0..<2 {
                for slot in 0..<6 {
                    // Element 0 writes row 2 slots 4, 5; element 1 writes row 0 slots 0, 1; row 1 is untouched.
                    let source: (b: Int, t: Int)? =
                        row == 2 && slot >= 4 ? (0, slot - 4) : row == 0 && slot < 2 ? (1, slot) : nil
                    for c in 0..<4 {
                        #expect(
                            k[row, h, slot, c] == (source.map { kNew[$0.b, h, $0.t, c] } ?? kCache[row, h, slot, c]))
                    }
                    for c in 0..<3 {
                        #expect(
                            v[row, h, slot, c] == (source.map { vNew[$0.b, h, $0.t, c] } ?? vCache[row, h, slot, c]))
                    }
                }
            }
        }
        let x = try update.attentionInputs(q: Tensor(shape: [2, 2, 1, 4], repeating: 1), k: k, v: v)
        #expect(x.k.shape == [2, 2, 6, 4] && x.k[0, 1, 5, 3] == k[2, 1, 5, 3] && x.k[1, 0, 0, 0] == k[0, 0, 0, 0])
        for (lengths, index, text) in [
            ([5, 0], [2, 0], "do not fit the cache's 6 slots"), ([4, 0], [2, 2], "names a cache row twice"),
            ([4, 0], [3, 0], "outside 0..<3"), ([4, 0], nil, "needs cache_batch_idx"),
        ] as [([Int], [Int]?, String)] {
            let error = #expect(throws: ReferenceError.self) {
                _ = try KVCacheUpdate(
                    kCache: kCache, vCache: vCache, kNew: kNew, vNew: vNew, cacheSeqlens: lengths, batchIndex: index)
            }
            #expect(error.map { "\($0)".contains(text) } == true, "\(String(describing: error))")
        }
    }

    /// The caches of a case as the kernel sees them: dense rows per batch element (from rows or pages).
    static func rows(_ f: SafetensorsFile, _ name: String, spec: GoldenCaseSpec) -> Tensor<Double> {
        let t = f[name]!.tensor()
        guard let ps = spec.pageSize else {
            let idx = spec.cacheBatchIndex ?? Array(0..<spec.batch)
            let per = t.count / t.shape[0]
            return try! Tensor(
                shape: [spec.batch] + Array(t.shape.dropFirst()),
                data: idx.flatMap { Array(t.data[$0 * per..<($0 + 1) * per]) })
        }
        let table = f["block_table"]!.doubles().map { Int($0) }, perRow = spec.seqK / ps
        let (h, d) = (t.shape[2], t.shape[3])
        var out = Tensor<Double>(shape: [spec.batch, h, spec.seqK, d], repeating: 0)
        for b in 0..<spec.batch {
            for slot in 0..<spec.seqK {
                let page = table[b * perRow + slot / ps]
                for head in 0..<h {
                    for c in 0..<d {
                        out.data[((b * h + head) * spec.seqK + slot) * d + c] = t[page, slot % ps, head, c]
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: GoldenSuite.kvcache.cases.filter { $0.goldenLayout == .kvcache })
    func goldensAgreeWithTheKernel(_ spec: GoldenCaseSpec) throws {
        let c = try GoldenCase(spec: spec, dtype: .bf16)
        let f = c.file
        let new = spec.newTokens ?? spec.seqQ
        let kNew = (f["k_new_rotated"] ?? f["k_new"]!).tensor(), vNew = f["v_new"]!.tensor()
        // The update by hand on the kernel's view of the caches.
        var (k, v) = (Self.rows(f, "k_cache", spec: spec), Self.rows(f, "v_cache", spec: spec))
        for b in 0..<spec.batch {
            for head in 0..<spec.kvHeadCount {
                for t in 0..<new {
                    let slot = spec.cacheSeqlens![b] + t
                    for e in 0..<spec.headDim {
                        k.data[((b * spec.kvHeadCount + head) * spec.seqK + slot) * spec.headDim + e] =
                            kNew[b, head, t, e]
                    }
                    for e in 0..<spec.valueDimension {
                        v.data[((b * spec.kvHeadCount + head) * spec.seqK + slot) * spec.valueDimension + e] =
                            vNew[b, head, t, e]
                    }
                }
            }
        }
        #expect(k.data == Self.rows(f, "k_cache_updated", spec: spec).data, "\(spec.name)")
        #expect(v.data == Self.rows(f, "v_cache_updated", spec: spec).data, "\(spec.name)")
        var options = try spec.options(dtype: .bf16)
        options.cacheSeqlens = spec.cacheSeqlens!.map { $0 + new }
        let q = (f["q_rotated"] ?? f["q"]!).tensor()
        let kernel = try ExactAttention.forward(try AttentionInputs(q: q, k: k, v: v), options: options)
        #expect(relativeError(f["out"]!.doubles(), kernel.output.data) < 1e-12, "\(spec.name)")
        #expect(relativeError(f["lse"]!.doubles(), kernel.lse.data) < 1e-12, "\(spec.name)")
        #expect(c.gradientTolerances?.map(\.name) == ["k_cache_updated", "v_cache_updated"])
        if spec.cacheLeftpad?.first == spec.cacheSeqlens?.first, new == 0 {
            #expect(f["lse"]!.doubles()[0] == -.infinity)  // the empty row
        }
    }

    @Test func checkerFailsAnUpdateOneSlotOff() throws {
        let dir = NSTemporaryDirectory() + "kvcache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try #require(GoldenSuite.kvcache.cases.first { $0.name == "kvcache-decode-append-gqa" })
        try GoldenSuiteWriter(suite: "kvcache", specs: [spec], dtypes: [.f32]).write(to: dir + "/golden")
        let golden = try SafetensorsFile.read(dir + "/golden/kvcache-decode-append-gqa-f32.safetensors")
        func check(_ shift: Int) throws -> [GoldenChecker.Row] {
            var k = golden["k_cache"]!.tensor()
            let kNew = golden["k_new"]!.tensor()
            for (b, length) in [100, 0, 127].enumerated() where length + shift < 128 {
                for head in 0..<2 {
                    for e in 0..<64 { k.data[((b * 2 + head) * 128 + length + shift) * 64 + e] = kNew[b, head, 0, e] }
                }
            }
            try SafetensorsFile(
                tensors: [
                    ("kvcache-decode-append-gqa-f32.out", golden["out"]!),
                    ("kvcache-decode-append-gqa-f32.k_cache_updated", try TensorData(k, dtype: .f32)),
                    ("kvcache-decode-append-gqa-f32.v_cache_updated", golden["v_cache_updated"]!),
                ], metadata: [:]
            ).write(to: dir + "/r.safetensors")
            return try GoldenChecker(goldenFolder: dir + "/golden", results: dir + "/r.safetensors").run()
        }
        #expect(try check(0).allSatisfy { $0.passed })
        #expect(try check(1).first { $0.tensor == "k_cache_updated" }?.passed == false)
    }
}

/// FlashAttention 3's seqused_q/seqused_k in the varlen goldens: the used rows are attention over the used keys (keys
/// past seqused_k are NaN in the file); `check` leaves the rows past seqused_q alone and fails a kernel that attends
/// to all of a sequence's stored keys.
@Suite struct SequsedGoldenTests {
    @Test func usedRowsAreCheckedAndTheRestIgnored() throws {
        let dir = NSTemporaryDirectory() + "seqused-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try #require(GoldenSuite.kvcache.cases.first { $0.name == "varlen-seqused-causal" })
        try GoldenSuiteWriter(suite: "kvcache", specs: [spec], dtypes: [.f32]).write(to: dir + "/golden")
        let f = try SafetensorsFile.read(dir + "/golden/varlen-seqused-causal-f32.safetensors")
        let (q, k, v) = (f["q"]!.tensor(), f["k"]!.tensor(), f["v"]!.tensor())
        let cuQ = [0, 8, 24, 28], cuK = [0, 20, 36, 45]
        let (usedQ, usedK) = (spec.sequsedQ!, spec.sequsedK!)
        func results(readAllKeys: Bool) throws -> [GoldenChecker.Row] {
            // Each sequence alone through the kernel (bhsd), its unused rows filled with NaN.
            var out = Tensor<Double>(shape: [28, 4, 64], repeating: .nan)
            var lse = Tensor<Double>(shape: [4, 28], repeating: .nan)
            for i in 0..<3 {
                let keys = readAllKeys ? cuK[i + 1] - cuK[i] : usedK[i]
                func slice(_ t: Tensor<Double>, _ start: Int, _ n: Int) throws -> Tensor<Double> {
                    let row = t.count / t.shape[0]
                    return try Tensor(
                        shape: [n] + Array(t.shape.dropFirst()), data: Array(t.data[start * row..<(start + n) * row])
                    )
                    .reshaped([1, n, t.shape[1], t.shape[2]]).swappingAxes12()
                }
                let x = try AttentionInputs(
                    q: slice(q, cuQ[i], usedQ[i]), k: slice(k, cuK[i], keys), v: slice(v, cuK[i], keys))
                let r = try ExactAttention.forward(x, options: AttentionOptions(causal: .bottomRight))
                for t in 0..<usedQ[i] {
                    for h in 0..<4 {
                        for c in 0..<64 { out.data[((cuQ[i] + t) * 4 + h) * 64 + c] = r.output[0, h, t, c] }
                        lse.data[h * 28 + cuQ[i] + t] = r.lse[0, h, t]
                    }
                }
            }
            try SafetensorsFile(
                tensors: [
                    ("varlen-seqused-causal-f32.out", try TensorData(out, dtype: .f64)),
                    ("varlen-seqused-causal-f32.lse", try TensorData(lse, dtype: .f64)),
                ], metadata: [:]
            ).write(to: dir + "/r.safetensors")
            return try GoldenChecker(goldenFolder: dir + "/golden", results: dir + "/r.safetensors").run()
        }
        let right = try results(readAllKeys: false)
        #expect(
            right.count == 2 && right.allSatisfy { $0.passed },
            "\(right.map { "\($0.tensor) \($0.maxAbs) \($0.note)" })")
        #expect(right[0].note.contains("7 rows past seqused_q not compared"))
        #expect(try results(readAllKeys: true).allSatisfy { !$0.passed })
    }
}

/// Suite files take the keys of issue 25 on every layout, strictly (a wrong type is one line naming the key), and a
/// case read from a file equals the built-in one it spells.
@Suite struct FeatureSuiteKeyTests {
    @Test func suiteFilesTakeTheNewKeys() throws {
        let cases: [Any] = [
            [
                "name": "s", "heads": 4, "kv_heads": 1, "seq_q": 40, "seq_k": 72, "head_dim": 64,
                "causal": "bottom-right", "seed": 902, "sinks": [1.5, -0.5, 3, -2], "dlse": true,
            ] as [String: Any],
            [
                "name": "k", "batch": 2, "heads": 4, "kv_heads": 1, "seq_q": 3, "seq_k": 64, "head_dim": 64,
                "causal": "bottom-right", "window": [15, 0], "cache_seqlens": [40, 20], "seed": 1202,
                "layout": "kvcache",
                "cache_leftpad": [5, 20], "cache_batch_idx": [3, 1], "cache_rows": 4,
            ],
            [
                "name": "v", "layout": "varlen", "heads": 4, "kv_heads": 2, "seqlens_q": [8, 16, 4],
                "seqlens_k": [20, 16, 9], "head_dim": 64, "causal": "bottom-right", "seed": 505,
                "seqused_q": [5, 16, 0], "seqused_k": [12, 10, 9],
            ],
            [
                "name": "r", "seq_q": 64, "seq_k": 64, "head_dim": 64, "causal": "bottom-right", "seed": 1107,
                "rope_layout": "neox", "rope_theta": 500_000, "attention_chunk": 16,
            ],
            [
                "name": "m", "heads": 2, "seq_q": 24, "seq_k": 24, "head_dim": 192, "value_dim": 128,
                "causal": "bottom-right",
                "std": 0.5, "seed": 1005, "mla": "naive", "rope_dim": 64, "latent_dim": 512,
            ],
        ]
        let specs = try GoldenCaseSpec.parseSuite(cases, context: "suite.json")
        var builtIn = GoldenSuite.sinks.cases.first { $0.name == "sinks-full-causal" }!
        builtIn.name = "s"
        #expect(specs[0] == builtIn)
        var kv = GoldenSuite.kvcache.cases.first { $0.name == "kvcache-batch-idx-leftpad-window" }!
        kv.name = "k"
        #expect(specs[1] == kv)
        #expect(specs[2].sequsedQ == [5, 16, 0] && specs[3].attentionChunk == 16 && specs[4].latentDim == 512)
        let error = #expect(throws: ReferenceError.self) {
            _ = try GoldenCaseSpec.parseSuite(
                [["name": "x", "seq_q": 1, "seq_k": 4, "head_dim": 8, "sinks": ["a", "b"]] as [String: Any]],
                context: "suite.json")
        }
        #expect(error.map { "\($0)".contains("'sinks[0]' must be a finite number") } == true)
    }
}
