import Foundation
import Testing

/// `attention` on packed varlen inputs and on a paged KV cache, checked against golden files of those layouts.
@Suite struct LayoutCommandTests {
    /// The reference run on each golden file of the varlen and paged suites (NaN in every unused page slot) passes
    /// `check`; the golden's own inputs are what the CLI reads.
    @Test func referenceRunsPassTheLayoutGoldens() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for suite in ["varlen", "paged-decode", "paged-append"] {
            let g = dir + "/\(suite)"
            let r = try CLI.run(["golden", "--suite", suite, "--dtype", "bf16", "--out", g])
            #expect(r.status == 0, "\(r.stderr)")
            let manifest = try #require(
                try CLI.json(String(contentsOfFile: g + "/manifest.json", encoding: .utf8)) as? [String: Any])
            let results = dir + "/\(suite)-results"
            try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
            for entry in manifest["cases"] as? [[String: Any]] ?? [] {
                let name = try #require(entry["name"] as? String), file = g + "/\(name).safetensors"
                let spec = try #require(entry["case"] as? [String: Any])
                var args = [
                    "attention", "--q", file, "--k", file, "--v", file, "--precision", "f32",
                    "--out", results + "/\(name).safetensors",
                ]
                if let causal = spec["causal"] as? String { args += ["--causal", causal] }
                if let w = spec["window"] as? [Int] { args += ["--window", "\(w[0]),\(w[1])"] }
                if let c = spec["softcap"] as? Double { args += ["--softcap", "\(c)"] }
                if let slopes = spec["alibi_slopes"] as? [Double] {
                    args += ["--alibi-slopes", slopes.map { "\($0)" }.joined(separator: ",")]
                }
                if suite == "varlen" {
                    func offsets(_ key: String) -> String {
                        ((spec[key] as? [Int]) ?? []).reduce(into: [0]) { $0.append($0.last! + $1) }.map(String.init)
                            .joined(separator: ",")
                    }
                    args += ["--cu-seqlens-q", offsets("seqlens_q"), "--cu-seqlens-k", offsets("seqlens_k")]
                } else {
                    args += [
                        "--block-table", file, "--page-layout", spec["page_layout"] as? String ?? "nhd",
                        "--cache-seqlens",
                        ((spec["cache_seqlens"] as? [Int]) ?? []).map(String.init).joined(separator: ","),
                    ]
                }
                let run = try CLI.run(args)
                #expect(run.status == 0, "\(name): \(run.stderr)")
            }
            let check = try CLI.run(["check", "--golden", g, "--results", results])
            #expect(check.status == 0, "\(suite): \(check.stdout)")
        }
    }

    @Test func badLayoutOptionsAreOneLineErrors() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir, ["--heads", "2", "--seq-q", "3", "--seq-k", "8", "--head-dim", "4"])
        let qkv = ["--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy", "--out", dir + "/o.npy"]
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--cu-seqlens-q", "0,3"]),
            contains: "needs both --cu-seqlens-q and --cu-seqlens-k")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--cu-seqlens-q", "0,3", "--cu-seqlens-k", "0,8"]),
            contains: "varlen q must have rank 3")
        CLI.expectOneLineError(
            try CLI.run(
                ["attention"] + qkv + [
                    "--cu-seqlens-q", "0,3", "--cu-seqlens-k", "0,8", "--shards", "2",
                    "--reduction", "binary",
                ]), contains: "varlen (--cu-seqlens-q/-k) takes no --shards")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--block-table", dir + "/q.npy"]), contains: "needs --cache-seqlens")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--block-table", dir + "/q.npy", "--cache-seqlens", "3"]),
            contains: "block_table must be a (batch, max_blocks) integer tensor")
        CLI.expectOneLineError(try CLI.run(["attention"] + qkv + ["--page-layout", "nhw"]), contains: "nhw")
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.npy"))
    }
}
