import Foundation
import Testing

/// End-to-end tests of the `treeattn` binary built by `swift build` (the Makefile builds it before `swift test`).
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let binary = root + "/.build/debug/treeattn"
    static let mpiBinary = root + "/.build/debug/treeattn-mpi"

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ args: [String], in directory: String? = nil, binary: String = binary) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CocoaError(
                .fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(binary) missing: run `swift build` first"])
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("treeattn-cli-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes seeded inputs q.npy, k.npy, v.npy into `dir`.
    static func inputs(_ dir: String, _ extra: [String] = []) throws {
        let r = try run(["random-inputs", "--out", dir] + extra)
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// The error contract: exit 2 and exactly one stderr line, `Error: ...`, naming the problem.
    static func expectOneLineError(
        _ r: Result, contains text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(r.status == 2, "status \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(
            r.stderr.hasPrefix("Error: ") && r.stderr.hasSuffix("\n"), "stderr: \(r.stderr)",
            sourceLocation: sourceLocation)
        #expect(
            !r.stderr.dropLast().contains(where: { $0.isNewline }), "more than one line: \(r.stderr)",
            sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// A clean run: exit 0 and nothing on stderr.
    static func expectSuccess(_ r: Result, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            r.status == 0 && r.stderr.isEmpty, "status \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation
        )
    }

    /// Parses JSON text (a file's or stdout's) into plain values.
    static func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }
}

@Suite struct AttentionCLITests {
    @Test func badInputsGiveOneLineErrorsAndNoOutput() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir + "/a", ["--heads", "3", "--kv-heads", "3"])
        try CLI.inputs(dir + "/b", ["--heads", "2", "--kv-heads", "2"])
        try CLI.inputs(dir + "/c", ["--head-dim", "5"])
        try CLI.inputs(dir + "/d", ["--seq-k", "10"])
        let out = dir + "/out.npy"
        func attention(_ q: String, _ k: String, _ v: String, _ extra: [String] = []) throws -> CLI.Result {
            try CLI.run(["attention", "--q", q, "--k", k, "--v", v, "--out", out] + extra)
        }
        CLI.expectOneLineError(
            try attention(dir + "/missing.npy", dir + "/a/k.npy", dir + "/a/v.npy"), contains: "no such file")
        CLI.expectOneLineError(
            try attention(dir + "/a/q.npy", dir + "/b/k.npy", dir + "/b/v.npy"),
            contains: "query heads (3) must be a multiple of KV heads (2)")
        CLI.expectOneLineError(
            try attention(dir + "/b/q.npy", dir + "/c/k.npy", dir + "/c/v.npy"),
            contains: "q head dim 8 differs from k head dim 5")
        CLI.expectOneLineError(
            try attention(dir + "/b/q.npy", dir + "/b/k.npy", dir + "/d/v.npy"), contains: "k has 16 keys but v has 10")
        let truncated = dir + "/t.npy"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/b/k.npy"))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: truncated))
        CLI.expectOneLineError(try attention(dir + "/b/q.npy", truncated, dir + "/b/v.npy"), contains: "truncated data")
        CLI.expectOneLineError(
            try attention(dir + "/b/q.npy", dir + "/b/k.npy", dir + "/b/v.npy", ["--reduction", "star"]),
            contains:
                "The value 'star' is invalid for '--reduction <reduction>'. Please provide one of the following: exact, binary"
        )
        CLI.expectOneLineError(
            try attention(
                dir + "/b/q.npy", dir + "/b/k.npy", dir + "/b/v.npy", ["--shards", "0", "--reduction", "binary"]),
            contains: "--shards must be in 1...65536")
        CLI.expectOneLineError(
            try attention(dir + "/b/q.npy", dir + "/b/k.npy", dir + "/b/v.npy", ["--causal", "diagonal"]),
            contains: "Please provide one of 'none', 'top-left' or 'bottom-right'")
        CLI.expectOneLineError(
            try attention(dir + "/b/q.npy", dir + "/b/k.npy", dir + "/b/v.npy", ["--window", "3"]),
            contains: "--window needs L,R")
        CLI.expectOneLineError(
            try CLI.run([
                "attention", "--q", dir + "/b/q.npy", "--k", dir + "/b/k.npy", "--v", dir + "/b/v.npy",
                "--out", dir + "/nofolder/o.npy",
            ]), contains: "output folder does not exist")
        CLI.expectOneLineError(
            try CLI.run(["random-inputs", "--seq-k", "16777216", "--head-dim", "4096", "--out", dir + "/huge"]),
            contains: "the limit is 2^30")
        #expect(!FileManager.default.fileExists(atPath: out), "no output after errors")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains("tmp") })
    }

    @Test func nanInUnmaskedInputsPropagatesWithAWarning() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir, ["--heads", "1", "--seq-q", "2", "--seq-k", "3", "--head-dim", "2"])
        // k.npy of shape (1,1,3,2) f64: overwrite the last key's first element with NaN (bytes at the end).
        var k = try Data(contentsOf: URL(fileURLWithPath: dir + "/k.npy"))
        withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) {
            k.replaceSubrange((k.count - 16)..<(k.count - 8), with: $0)
        }
        try k.write(to: URL(fileURLWithPath: dir + "/k.npy"))
        let r = try CLI.run([
            "attention", "--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy", "--out", dir + "/o.npy",
            "--causal", "top-left",
        ])
        // Query 0 sees key 0 only (top-left), query 1 sees keys 0 and 1: key 2 (NaN) is masked for both, so it is not
        // warned about (issue 24); without the mask it is.
        CLI.expectSuccess(r)
        let unmasked = try CLI.run([
            "attention", "--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy", "--out", dir + "/u.npy",
        ])
        #expect(unmasked.status == 0)
        #expect(unmasked.stderr.contains("warning: k holds 1 NaN/Inf values"))
        let o = try Data(contentsOf: URL(fileURLWithPath: dir + "/o.npy")).suffix(16)
        let values = stride(from: 0, to: 16, by: 8).map { i in
            o.withUnsafeBytes { Double(bitPattern: $0.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
        }
        #expect(values.allSatisfy { $0.isFinite })
        let r2 = try CLI.run([
            "attention", "--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy", "--out", dir + "/o2.npy",
        ])
        let o2 = try Data(contentsOf: URL(fileURLWithPath: dir + "/o2.npy")).suffix(8)
        #expect(r2.status == 0 && o2.withUnsafeBytes { Double(bitPattern: $0.loadUnaligned(as: UInt64.self)) }.isNaN)
    }

    @Test func bshdLayoutGivesTheSameNumbersTransposed() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // (1, 2, 2, 4) inputs read as bhsd and as bshd are different problems; check both run and write the layouts.
        try CLI.inputs(dir, ["--heads", "2", "--seq-q", "2", "--seq-k", "2", "--head-dim", "4"])
        for layout in ["bhsd", "bshd"] {
            let r = try CLI.run([
                "attention", "--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy",
                "--layout", layout, "--out", dir + "/o-\(layout).safetensors",
            ])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let st = try String(
            decoding: Data(contentsOf: URL(fileURLWithPath: dir + "/o-bshd.safetensors")).prefix(400), as: UTF8.self)
        #expect(st.contains("\"layout\":\"bshd\""))
    }
}

@Suite struct GoldenCLITests {
    @Test func goldenAndCheckRoundTripAndFail() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = dir + "/suite.yaml"
        try
            "- name: tiny\n  heads: 2\n  seq_q: 3\n  seq_k: 9\n  head_dim: 8\n  causal: bottom-right\n  splits: [2, 3]\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let g = try CLI.run(["golden", "--suite", yaml, "--dtype", "bf16,f32", "--out", dir + "/golden", "--npy"])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/golden/tiny-bf16/tree.p3.level2.node0.out.npy"))
        // Our own attention run on the golden inputs passes the check.
        try FileManager.default.createDirectory(atPath: dir + "/results", withIntermediateDirectories: true)
        for dtype in ["bf16", "f32"] {
            let file = dir + "/golden/tiny-\(dtype).safetensors"
            let r = try CLI.run([
                "attention", "--q", file, "--k", file, "--v", file, "--causal", "bottom-right",
                "--precision", "f32", "--out", dir + "/results/tiny-\(dtype).safetensors",
            ])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let ok = try CLI.run([
            "check", "--golden", dir + "/golden", "--results", dir + "/results", "--json", dir + "/report.json",
        ])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("4 passed, 0 failed"))
        #expect(try String(contentsOfFile: dir + "/report.json", encoding: .utf8).contains("\"passed\": true"))
        // A result computed without the causal mask fails.
        let file = dir + "/golden/tiny-f32.safetensors"
        _ = try CLI.run([
            "attention", "--q", file, "--k", file, "--v", file, "--out", dir + "/results/tiny-f32.safetensors",
        ])
        let bad = try CLI.run(["check", "--golden", dir + "/golden", "--results", dir + "/results"])
        // A failed check is exit 1 (not an error): the table stays on stdout, nothing on stderr.
        #expect(
            bad.status == 1 && bad.stdout.contains("FAIL") && bad.stdout.contains(" failed\n") && bad.stderr.isEmpty,
            "\(bad.stdout)\(bad.stderr)")
        CLI.expectOneLineError(
            try CLI.run(["check", "--golden", dir + "/golden", "--results", dir + "/nothing"]),
            contains: "results must be a folder or a .safetensors file")
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", "huge", "--out", dir + "/x"]), contains: "unknown suite 'huge'")
        try "- name: [oops\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", yaml, "--out", dir + "/x"]), contains: "not a list of golden cases")
        try "- name: big\n  seq_q: 100000\n  seq_k: 100000\n  head_dim: 4096\n".write(
            toFile: yaml, atomically: true, encoding: .utf8)
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", yaml, "--out", dir + "/x"]), contains: "exceed the 2^26 limit")
    }
}

@Suite struct ExplainCLITests {
    /// docs/tutorial.md quotes `treeattn explain`; the quote must be what the program prints today.
    @Test func tutorialQuotesTheCurrentOutput() throws {
        let r = try CLI.run(["explain"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try String(contentsOfFile: CLI.root + "/docs/tutorial.md", encoding: .utf8)
        let start = try #require(doc.range(of: "<!-- explain-output:begin -->\n```\n"))
        let end = try #require(doc.range(of: "```\n<!-- explain-output:end -->"))
        #expect(String(doc[start.upperBound..<end.lowerBound]) == r.stdout)
        #expect(r.stdout.contains("max |tree - exact|"))
    }

    @Test func explainRejectsAbsurdSizes() throws {
        CLI.expectOneLineError(try CLI.run(["explain", "--tokens", "0"]), contains: "--tokens must be in 1...64")
        CLI.expectOneLineError(try CLI.run(["explain", "--tree", "star"]), contains: "unknown reduction shape")
        CLI.expectOneLineError(try CLI.run(["explain", "--cluster", "nowhere-9000"]), contains: "nowhere-9000")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--block-size", "0"]), contains: "--block-size must be in 1...64")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--causal", "--query-position", "8"]), contains: "--query-position must be in 0..<8"
        )
        CLI.expectOneLineError(
            try CLI.run(["explain", "--ring-owner", "4"]), contains: "--ring-owner must be in 0..<4")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--values", "/nonexistent/values.json"]), contains: "--values: cannot read")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--query-position", "2"]), contains: "--query-position needs --causal")
    }

    /// `explain --html`: the site's four files appear together in a new folder; a non-empty folder, or a sink the
    /// page has no step for, is one error line and leaves nothing behind.
    @Test func htmlWritesTheSiteWholeOrNotAtAll() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["explain", "--html", dir + "/site", "--shards", "5", "--tree", "kary:3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("/site/index.html"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir + "/site").sorted()
                == ["data.js", "explainer.css", "explainer.js", "index.html"])
        let data = try String(contentsOfFile: dir + "/site/data.js", encoding: .utf8)
        #expect(data.contains("\"tree\":\"kary:3\"") && data.contains("\"shards\":5"))
        CLI.expectOneLineError(try CLI.run(["explain", "--html", dir + "/site"]), contains: "not empty")
        CLI.expectOneLineError(try CLI.run(["explain", "--html", dir + "/other", "--sinks"]), contains: "no sink step")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["site"])
    }
}

@Suite struct SimulatorCLITests {
    /// Absurd sizes are refused with one line, never an overflow trap.
    @Test func hostileSizesAreOneLineErrors() throws {
        CLI.expectOneLineError(
            try CLI.run([
                "simulate", "decode", "--cluster", "mi300x", "--strategy", "tree,ring",
                "--seq-len", "99999999999999999", "--heads", "16", "--head-dim", "128",
            ]),
            contains: "seq-len must be <=")
        CLI.expectOneLineError(
            try CLI.run([
                "simulate", "decode", "--cluster", "mi300x", "--strategy", "tree",
                "--seq-len", "1000", "--heads", "16", "--head-dim", "128", "--eta-mem", "2",
            ]),
            contains: "--eta-mem must be in (0, 1]")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--seq-len", "99999999999999999"]), contains: "seq-len must be <=")
        CLI.expectOneLineError(
            try CLI.run([
                "simulate", "decode", "--cluster", "nowhere", "--strategy", "tree",
                "--seq-len", "1000", "--heads", "16", "--head-dim", "128",
            ]), contains: "unknown preset")
    }
}
