import Foundation
import Testing

/// `attention --rope/--cache-leftpad/--attention-chunk` through the binary (issue 25; their numbers are checked
/// against NumPy and mpmath in python/oracle_check.py): what changes the answer, and the one-line refusals.
@Suite struct FeatureCommandTests {
    @Test func ropeLeftPaddingAndChunksReachTheRunOrAreRefused() throws {
        let dir = try BackwardCommandTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qkv = BackwardCommandTests.qkv(dir)
        func out(_ extra: [String], _ name: String) throws -> [Double] {
            CLI.expectSuccess(try CLI.run(["attention"] + qkv + extra + ["--out", dir + "/\(name).npy"]))
            return try SinkCommandTests.values(dir + "/\(name).npy")
        }
        let plain = try out(["--causal", "bottom-right"], "plain")
        for (extra, name) in [
            (["--rope", "neox"], "neox"), (["--rope", "gptj", "--rotary-dim", "4", "--rope-theta", "500000"], "gptj"),
            (["--rope", "neox", "--rope-scaling", "llama3"], "llama3"), (["--cache-leftpad", "6"], "pad"),
            (["--attention-chunk", "7"], "chunk"),
        ] {
            let changed = try out(["--causal", "bottom-right"] + extra, name)
            #expect(zip(changed, plain).contains { abs($0 - $1) > 1e-9 }, "\(name) changed nothing")
        }
        // (f32 runs with rope are checked against NumPy in python/oracle_check.py.)
        let base = ["attention"] + qkv + ["--out", dir + "/x.npy"]
        CLI.expectOneLineError(
            try CLI.run(base + ["--rotary-dim", "4"]),
            contains: "--rotary-dim, --rope-scaling and --rope-positions need --rope")
        CLI.expectOneLineError(
            try CLI.run(base + ["--rope", "neox", "--rotary-dim", "5"]), contains: "rotary dim must be even")
        CLI.expectOneLineError(try CLI.run(base + ["--rope", "halves"]), contains: "--rope")
        CLI.expectOneLineError(try CLI.run(base + ["--cache-leftpad", "25"]), contains: "cache_leftpad entry 25")
        CLI.expectOneLineError(
            try CLI.run(base + ["--attention-chunk", "0"]), contains: "attention chunk must be >= 1")
        CLI.expectOneLineError(
            try CLI.run(base + ["--rope-positions", "from-first-token"]), contains: "need --rope")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
        // Rope with the backward: the gradients of the unrotated q and k (against goldens in python/cli_goldens.py).
        let grads = ["--dq", dir + "/a.npy", "--dk", dir + "/b.npy", "--dv", dir + "/c.npy"]
        CLI.expectSuccess(try CLI.run(base + ["--rope", "neox", "--backward", "--do", dir + "/do.npy"] + grads))
        CLI.expectSuccess(
            try CLI.run(
                base + ["--backward", "--do", dir + "/do.npy"]
                    + grads.map { $0.replacingOccurrences(of: ".npy", with: "2.npy") }))
        #expect(try SinkCommandTests.values(dir + "/a.npy") != (try SinkCommandTests.values(dir + "/a2.npy")))
    }

    /// flash_attn_with_kvcache through `attention --k-new/--v-new`: the updated caches hold the new tokens at
    /// cache_seqlens (and nothing else changes), the attention sees them; the refusals are one line and write nothing.
    /// (The numbers against the kvcache goldens and mpmath: python/cli_goldens.py.)
    @Test func kvCacheUpdateAppendsAndAttendsOrIsRefused() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir, ["--batch", "2", "--heads", "4", "--kv-heads", "2", "--seq-q", "2", "--seq-k", "12"])
        try CLI.inputs(
            dir + "/new", ["--batch", "2", "--heads", "4", "--kv-heads", "2", "--seq-q", "2", "--seq-k", "2"])
        let base = BackwardCommandTests.qkv(dir) + ["--k-new", dir + "/new/k.npy", "--v-new", dir + "/new/v.npy"]
        let outs = ["--out", dir + "/o.npy", "--k-cache-out", dir + "/kc.npy", "--v-cache-out", dir + "/vc.npy"]
        CLI.expectSuccess(
            try CLI.run(["attention"] + base + ["--cache-seqlens", "3,10", "--causal", "bottom-right"] + outs))
        let (old, new, updated) = (
            try SinkCommandTests.values(dir + "/k.npy"), try SinkCommandTests.values(dir + "/new/k.npy"),
            try SinkCommandTests.values(dir + "/kc.npy")
        )
        // (b, h, slot, d) of a (2, 2, 12, 8) cache; new token t of (b, h) at slot cache_seqlens[b] + t.
        for b in 0..<2 {
            for h in 0..<2 {
                for slot in 0..<12 {
                    for d in 0..<8 {
                        let at = ((b * 2 + h) * 12 + slot) * 8 + d, start = [3, 10][b]
                        let want =
                            (start..<start + 2).contains(slot) ? new[((b * 2 + h) * 2 + slot - start) * 8 + d] : old[at]
                        #expect(updated[at] == want, "k cache (\(b), \(h), \(slot), \(d))")
                    }
                }
            }
        }
        let attention = ["attention"] + base + ["--out", dir + "/x.npy"]
        CLI.expectOneLineError(
            try CLI.run(attention + ["--cache-seqlens", "3,11"]), contains: "do not fit the cache's 12 slots")
        CLI.expectOneLineError(
            try CLI.run(attention + ["--cache-seqlens", "3,1", "--cache-batch-idx", "0,2"]),
            contains: "cache_batch_idx entry 2 outside 0..<2")
        CLI.expectOneLineError(
            try CLI.run(attention + ["--cache-seqlens", "3,1", "--cache-batch-idx", "1,1"]),
            contains: "names a cache row twice")
        CLI.expectOneLineError(try CLI.run(attention), contains: "needs the cache lengths before it")
        CLI.expectOneLineError(
            try CLI.run(attention.filter { $0 != "--v-new" && $0 != dir + "/new/v.npy" } + ["--cache-seqlens", "1,1"]),
            contains: "both --k-new and --v-new")
        CLI.expectOneLineError(
            try CLI.run(
                ["attention"] + BackwardCommandTests.qkv(dir) + [
                    "--out", dir + "/x.npy", "--k-cache-out", dir + "/y.npy",
                ]),
            contains: "need --k-new and --v-new")
        // New keys of another head dim.
        CLI.expectOneLineError(
            try CLI.run(
                ["attention"] + BackwardCommandTests.qkv(dir) + [
                    "--k-new", dir + "/new/q.npy", "--v-new", dir + "/new/v.npy", "--cache-seqlens", "1,1", "--out",
                    dir + "/x.npy",
                ]), contains: "shapes do not fit")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }

    /// FlashAttention 3's seqused_q/seqused_k through `attention --seqused-q/-k`: rows past seqused_q are (0, -inf),
    /// keys past seqused_k are never read (NaN there changes nothing); bad counts are one-line errors.
    @Test func sequsedLimitsTheRowsAndKeysOrIsRefused() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir, ["--heads", "2", "--seq-q", "6", "--seq-k", "9", "--head-dim", "4"])
        // Packed (tokens, heads, dim) copies of the (1, 2, S, 4) inputs.
        for name in ["q", "k", "v"] {
            let t = try SinkCommandTests.values(dir + "/\(name).npy")
            let rows = t.count / 8
            var packed = [Double](repeating: 0, count: t.count)
            for h in 0..<2 {
                for s in 0..<rows { for d in 0..<4 { packed[(s * 2 + h) * 4 + d] = t[(h * rows + s) * 4 + d] } }
            }
            if name != "q" { for e in (7 * 8)..<(9 * 8) { packed[e] = .nan } }  // keys 7, 8 of sequence 1: never read
            try Self.writeNPY(packed, shape: [rows, 2, 4], to: dir + "/p\(name).npy")
        }
        let packed = ["--q", dir + "/pq.npy", "--k", dir + "/pk.npy", "--v", dir + "/pv.npy"]
        let run =
            ["attention"] + packed + ["--cu-seqlens-q", "0,2,6", "--cu-seqlens-k", "0,4,9", "--causal", "bottom-right"]
        CLI.expectSuccess(
            try CLI.run(
                run + ["--seqused-q", "1,3", "--seqused-k", "4,3", "--out", dir + "/o.npy", "--lse", dir + "/l.npy"]))
        let (out, lse) = (try SinkCommandTests.values(dir + "/o.npy"), try SinkCommandTests.values(dir + "/l.npy"))
        #expect(out.allSatisfy { $0.isFinite })
        // Query rows 1 (sequence 0) and 5 (sequence 1) are past seqused_q: output 0, LSE -inf; the used ones are not.
        for row in 0..<6 {
            let unused = row == 1 || row == 5
            for h in 0..<2 {
                #expect((lse[h * 6 + row] == -.infinity) == unused, "row \(row) head \(h)")
                #expect(out[(row * 2 + h) * 4..<(row * 2 + h + 1) * 4].allSatisfy { $0 == 0 } == unused)
            }
        }
        CLI.expectOneLineError(
            try CLI.run(run + ["--seqused-q", "3,3", "--out", dir + "/x.npy"]),
            contains: "seqused_q[0] = 3 outside 0...2")
        CLI.expectOneLineError(
            try CLI.run(run + ["--seqused-k", "4", "--out", dir + "/x.npy"]),
            contains: "seqused_k needs one count per sequence")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + BackwardCommandTests.qkv(dir) + ["--seqused-q", "1", "--out", dir + "/x.npy"]),
            contains: "need varlen inputs")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }

    /// A little-endian f64 .npy file (format 1.0), written here from NumPy's format description.
    static func writeNPY(_ values: [Double], shape: [Int], to path: String) throws {
        var header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        data.append(contentsOf: [UInt8((header.utf8.count + 1) & 0xFF), UInt8((header.utf8.count + 1) >> 8)])
        data.append(contentsOf: Array((header + "\n").utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
