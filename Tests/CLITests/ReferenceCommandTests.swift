import Foundation
import Testing

/// `demo`, `random-inputs`, `golden`, `attention` and `bench reference` end to end (the error cases are in
/// CLITests.swift and ErrorContractTests.swift).
@Suite struct ReferenceCommandTests {
    @Test func demoPrintsEverySection() throws {
        let r = try CLI.run(["demo"])
        CLI.expectSuccess(r)
        for section in [
            "== Tree Attention reference: one decode query over 4096 keys split across 8 devices ==",
            "== The energy view", "== Golden vectors for kernel engineers ==", "== Cluster simulator",
            "== Sweep: Ring/Tree speedup", "Next: `treeattn explain`",
        ] {
            #expect(r.stdout.contains(section), "\(section)")
        }
        #expect(r.stdout.contains("PASS") && !r.stdout.contains("FAIL"))
    }

    @Test func randomInputsAreSeededAndDeterministic() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, seed) in [("a", "3"), ("b", "3"), ("c", "4")] {
            CLI.expectSuccess(
                try CLI.run(["random-inputs", "--seed", seed, "--dtype", "bf16", "--out", dir + "/\(name).safetensors"])
            )
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.safetensors"))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir + "/b.safetensors"))))
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: dir + "/c.safetensors"))))
        #expect(String(decoding: a.prefix(300), as: UTF8.self).contains("\"dtype\":\"BF16\""))
        CLI.expectSuccess(try CLI.run(["random-inputs", "--heads", "4", "--kv-heads", "2", "--out", dir + "/npy"]))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir + "/npy").sorted() == ["k.npy", "q.npy", "v.npy"])
    }

    @Test func goldenBuiltInSuiteWritesAManifest() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["golden", "--suite", "edge", "--dtype", "f32", "--out", dir + "/g"])
        CLI.expectSuccess(r)
        #expect(r.stdout.hasPrefix("[1/11] odd-d59-dv111-f32"))
        #expect(r.stdout.contains("wrote 11 cases and manifest.json to \(dir)/g"))
        let manifest = try #require(
            try CLI.json(String(contentsOfFile: dir + "/g/manifest.json", encoding: .utf8)) as? [String: Any])
        #expect(manifest["suite"] as? String == "edge")
        // A JSON suite file, wrapped in {"cases": [...]}: the manifest names the file.
        let suite = dir + "/mine.json"
        try #"{"cases": [{"name": "j", "seq_q": 1, "seq_k": 5, "head_dim": 4, "scale": 0.5}]}"#
            .write(toFile: suite, atomically: true, encoding: .utf8)
        CLI.expectSuccess(try CLI.run(["golden", "--suite", suite, "--dtype", "bf16", "--out", dir + "/j"]))
        let m2 = try #require(
            try CLI.json(String(contentsOfFile: dir + "/j/manifest.json", encoding: .utf8)) as? [String: Any])
        #expect(m2["suite"] as? String == "mine.json")
    }

    @Test func attentionTreeReductionMatchesExact() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir, ["--heads", "2", "--seq-q", "3", "--seq-k", "40", "--head-dim", "8"])
        let io = ["--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy"]
        CLI.expectSuccess(try CLI.run(["attention"] + io + ["--out", dir + "/exact.npy", "--lse", dir + "/lse.npy"]))
        CLI.expectSuccess(
            try CLI.run(
                ["attention"] + io + [
                    "--shards", "5", "--reduction", "kary:3", "--precision", "f32",
                    "--causal", "bottom-right", "--out", dir + "/tree.safetensors",
                ]))
        let header = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/tree.safetensors")).prefix(2000), as: UTF8.self)
        for key in [
            "\"reduction\":\"kary:3\"", "\"shards\":\"5\"", "\"precision\":\"f32\"", "shard4.out", "level1.node0.out",
        ] {
            #expect(header.contains(key), "\(key)")
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/lse.npy"))
    }

    @Test func benchReferenceRunsTiny() throws {
        let tiny = [
            "bench", "reference", "--seq", "64", "--heads", "1", "--decode-log2-keys", "10", "--repeats", "1",
            "--timing-keys", "1",
        ]
        let r = try CLI.run(tiny)
        #expect(r.status == 0, "\(r.stderr)")
        for line in [
            "prefill f64", "prefill f32", "causal", "backward f64", "backward f32", "decode f64", "decode f32", "(GQA)",
            "(MHA)", "dgemm", "sgemm",
            "streaming read", "OpenBLAS core", "kernel instruction set",
        ] {
            #expect(r.stdout.contains(line), "\(line)")
        }
        // --json: the machine description and one result per (kind, precision, shape), every ratio a finite number.
        let j = try CLI.run(tiny + ["--json", "--kernels", "baseline"])
        #expect(j.status == 0, "\(j.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        let machine = object?["machine"] as? [String: Any]
        #expect(machine?["kernelISA"] as? String == "baseline")
        for key in ["cpu", "blasCore", "blasThreads", "openblasCoretype", "openblasL2Size", "kernelISASupported"] {
            #expect(machine?[key] != nil, "\(key)")
        }
        let results = object?["results"] as? [[String: Any]] ?? []
        #expect(results.count == 12)  // prefill, backward: 2 precisions x causal or not; decode: 2 precisions x GQA/MHA
        #expect(results.filter { $0["kind"] as? String == "backward" }.count == 4)
        let noBackward = try CLI.run(tiny + ["--json", "--no-backward"])
        #expect(
            ((try JSONSerialization.jsonObject(with: Data(noBackward.stdout.utf8)) as? [String: Any])?["results"]
                as? [Any])?.count == 8)
        #expect(
            results.allSatisfy { (($0["ratio"] as? Double) ?? .nan).isFinite && (($0["rate"] as? Double) ?? 0) > 0 })
    }
}
