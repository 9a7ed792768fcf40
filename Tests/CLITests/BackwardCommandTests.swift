import Foundation
import Testing

/// `attention --backward`, `golden --backward` with `check`, and `explain --backward` through the binary.
@Suite struct BackwardCommandTests {
    /// Writes q, k, v (random-inputs) and a dO of the output's shape as .npy with the given header shape.
    static func setUp() throws -> String {
        let dir = try CLI.folder()
        try CLI.inputs(dir, ["--heads", "4", "--kv-heads", "2", "--seq-q", "3", "--seq-k", "20", "--head-dim", "8"])
        // dO = the output of attention itself (any values of the right shape do).
        CLI.expectSuccess(
            try CLI.run([
                "attention", "--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy",
                "--out", dir + "/do.npy",
            ]))
        return dir
    }

    static func qkv(_ dir: String) -> [String] {
        ["--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy"]
    }

    @Test func backwardWritesAllGradientsOrNone() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outs = ["--out", dir + "/o.npy", "--dq", dir + "/dq.npy", "--dk", dir + "/dk.npy", "--dv", dir + "/dv.npy"]
        CLI.expectSuccess(
            try CLI.run(
                ["attention"] + Self.qkv(dir) + ["--backward", "--do", dir + "/do.npy", "--causal", "bottom-right"]
                    + outs))
        for name in ["o", "dq", "dk", "dv"] { #expect(FileManager.default.fileExists(atPath: dir + "/\(name).npy")) }
        // Tree-parallel over 7 shards into one .safetensors: gradients and each shard's share.
        CLI.expectSuccess(
            try CLI.run(
                ["attention"] + Self.qkv(dir) + [
                    "--backward", "--do", dir + "/do.npy", "--shards", "7",
                    "--reduction", "kary:3", "--out", dir + "/all.safetensors",
                ]))
        let header = try String(
            decoding: Data(contentsOf: URL(fileURLWithPath: dir + "/all.safetensors")).prefix(4000), as: UTF8.self)
        for key in ["\"dq\"", "\"dk\"", "\"dv\"", "\"shard6.dq\"", "\"shard0.dk\"", "\"shard3.dv\""] {
            #expect(header.contains(key), "\(key)")
        }
        for name in ["dq", "dk", "dv"] { try FileManager.default.removeItem(atPath: dir + "/\(name).npy") }
        try FileManager.default.removeItem(atPath: dir + "/o.npy")

        // Bad input: one line, exit 2, and none of the outputs written.
        CLI.expectOneLineError(
            try CLI.run(["attention"] + Self.qkv(dir) + ["--backward"] + outs),
            contains: "--backward needs the upstream gradient --do")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + Self.qkv(dir) + ["--do", dir + "/do.npy"] + outs), contains: "need --backward")
        CLI.expectOneLineError(
            try CLI.run(
                ["attention"] + Self.qkv(dir) + ["--backward", "--do", dir + "/do.npy", "--out", dir + "/o.npy"]),
            contains: "--backward needs --dq, --dk and --dv")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + Self.qkv(dir) + ["--backward", "--do", dir + "/k.npy"] + outs),
            contains: "do must have the output's shape")
        try Data("\u{93}NUMPY garbage".utf8).write(to: URL(fileURLWithPath: dir + "/bad.npy"))
        let r = try CLI.run(["attention"] + Self.qkv(dir) + ["--backward", "--do", dir + "/bad.npy"] + outs)
        #expect(
            r.status != 0 && r.stderr.hasPrefix("Error: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        CLI.expectOneLineError(
            try CLI.run(
                ["attention"] + Self.qkv(dir) + ["--backward", "--do", dir + "/do.npy", "--max-memory", "1kB"] + outs),
            contains: "memory limit")
        for name in ["o", "dq", "dk", "dv"] {
            #expect(!FileManager.default.fileExists(atPath: dir + "/\(name).npy"), "\(name) written")
        }
    }

    /// golden --backward writes gradients and their tolerances; the reference's own f32 backward (attention
    /// --backward on the golden file, bshd out) passes `check` on every gradient.
    @Test func goldenBackwardIsCheckedOnGradients() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.expectSuccess(
            try CLI.run(["golden", "--suite", "tree", "--dtype", "bf16", "--backward", "--out", dir + "/g"])
                .withoutStdout)
        let manifest = try String(contentsOfFile: dir + "/g/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"dq_atol\"") && manifest.contains("\"dv_atol\""))
        try FileManager.default.createDirectory(atPath: dir + "/r", withIntermediateDirectories: true)
        for name in [
            "tree-decode-sk100-more-splits-than-keys-bf16", "tree-prefill-causal-bf16", "tree-decode-sk1000-bf16",
        ] {
            let file = dir + "/g/\(name).safetensors"
            CLI.expectSuccess(
                try CLI.run([
                    "attention", "--q", file, "--k", file, "--v", file, "--backward", "--do", file,
                    "--causal", name.contains("causal") ? "bottom-right" : "none", "--precision", "f32",
                    "--out", dir + "/r/\(name).safetensors",
                ]))
        }
        let check = try CLI.run([
            "check", "--golden", dir + "/g", "--results", dir + "/r", "--json", dir + "/report.json",
        ])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let rows = try #require(
            (try CLI.json(String(contentsOfFile: dir + "/report.json", encoding: .utf8)) as? [String: Any])?["rows"]
                as? [[String: Any]])
        #expect(rows.filter { ($0["tensor"] as? String) == "dk" }.count == 3)
        #expect(rows.allSatisfy { $0["passed"] as? Bool == true })
    }

    @Test func explainBackwardShowsTheTreeParallelBackward() throws {
        let r = try CLI.run(["explain", "--backward", "--tokens", "9", "--shards", "4", "--tree", "kary:3"])
        CLI.expectSuccess(r)
        #expect(r.stdout.contains("The tree-parallel backward") && r.stdout.contains("dq share"))
        for marker in [
            "max |energy - BLAS kernel| over dq, dk, dv = ", "max |tree-parallel - full backward| over dq, dk, dv = ",
        ] {
            let line = try #require(r.stdout.components(separatedBy: "\n").first { $0.contains(marker) })
            let value = try #require(
                Double(
                    line.components(separatedBy: marker)[1].trimmingCharacters(in: CharacterSet(charactersIn: " .\n"))))
            #expect(value < 1e-13, "\(line)")
        }
    }
}

extension CLI.Result {
    /// The same result with stdout dropped (for commands whose progress lines are not under test).
    var withoutStdout: CLI.Result { CLI.Result(status: status, stdout: "", stderr: stderr) }
}
