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

    @Test(arguments: GoldenSuite.kvcache.cases)
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
