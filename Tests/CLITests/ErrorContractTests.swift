import Foundation
import Testing

/// The one error path: every bad input, whichever command and whichever layer refuses it, is exit 2 and one stderr
/// line starting with `Error: `; help is exit 0 on stdout; only `check` finding a FAIL exits 1.
@Suite struct ErrorContractTests {
    static let decode = ["simulate", "decode", "--seq-len", "1000", "--heads", "16", "--head-dim", "128"]

    @Test func argumentParserErrorsAreOneLine() throws {
        CLI.expectOneLineError(try CLI.run(["no-such-command"]), contains: "no-such-command")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--no-such-option"]), contains: "Unknown option '--no-such-option'")
        CLI.expectOneLineError(try CLI.run(["explain", "--tokens"]), contains: "Missing value for '--tokens <tokens>'")
        CLI.expectOneLineError(
            try CLI.run(["explain", "--tokens", "many"]), contains: "'many' is invalid for '--tokens <tokens>'")
        CLI.expectOneLineError(try CLI.run(["attention", "--q", "q.npy"]), contains: "Missing expected argument")
        CLI.expectOneLineError(
            try CLI.run(Self.decode.filter { $0 != "--heads" && $0 != "16" } + ["--cluster", "mi300x"]),
            contains: "Missing expected argument '--heads <heads>'")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "cluster"]), contains: "Missing expected argument '--cluster <cluster>'")
    }

    @Test func badChoiceValuesNameTheAllowedValues() throws {
        CLI.expectOneLineError(
            try CLI.run(["attention", "--q", "q", "--k", "k", "--v", "v", "--out", "o.npy", "--layout", "sbhd"]),
            contains: "Please provide one of 'bhsd' and 'bshd'")
        CLI.expectOneLineError(
            try CLI.run(["attention", "--q", "q", "--k", "k", "--v", "v", "--out", "o.npy", "--precision", "f16"]),
            contains: "Please provide one of 'f64' and 'f32'")
        CLI.expectOneLineError(
            try CLI.run(["check", "--golden", "g", "--results", "r", "--layout", "hsd"]),
            contains: "Please provide one of 'auto', 'bhsd' or 'bshd'")
        CLI.expectOneLineError(
            try CLI.run(["check", "--golden", "g", "--results", "r", "--lse-base", "10"]),
            contains: "Please provide one of 'auto', 'e' or '2'")
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--cluster", "mi300x", "--ring-kv", "half"]),
            contains: "Please provide one of 'expanded' and 'native'")
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--cluster", "mi300x", "--format", "xml"]),
            contains: "Please provide one of 'table', 'json' or 'csv'")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "collective", "--cluster", "mi300x", "--bytes", "1MB", "--format", "xml"]),
            contains: "Please provide one of 'table', 'json' or 'csv'")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "collective", "--cluster", "mi300x", "--bytes", "1MB", "--op", "scatter"]),
            contains: "Please provide one of 'allreduce', 'allgather', 'reducescatter' or 'broadcast'")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "cluster", "--cluster", "mi300x", "--format", "yaml"]),
            contains: "Please provide one of 'table', 'json' or 'csv'")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "collective", "--cluster", "mi300x", "--bytes", "1MB", "--pacing", "lazy"]),
            contains: "Please provide one of 'back-to-back' and 'after-delivery'")
        CLI.expectOneLineError(
            try CLI.run(["random-inputs", "--dtype", "f8", "--out", "x"]),
            contains: "Please provide one of the following: f64, f32, f16, bf16, f8e4m3fn, f8e5m2")
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", "nightly", "--out", "x"]),
            contains:
                "unknown suite 'nightly' (standard, decode, edge, tree, varlen, paged-decode, paged-append, merge, sinks, mla, rope, kvcache, fp8, fp8-kvcache, dropout, sparse, or a .yaml/.json file)"
        )
    }

    @Test func crossOptionChecksAreOneLine() throws {
        CLI.expectOneLineError(
            try CLI.run(["attention", "--q", "q", "--k", "k", "--v", "v", "--out", "o.npy", "--shards", "4"]),
            contains: "--shards 4 needs a --reduction other than exact")
        CLI.expectOneLineError(
            try CLI.run(["random-inputs", "--heads", "3", "--kv-heads", "2", "--out", "x"]),
            contains: "--heads (3) must be a multiple of --kv-heads (2)")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "collective", "--cluster", "mi300x", "--bytes", "1MB", "--gamma=-1"]),
            contains: "--gamma must be >= 0")
        CLI.expectOneLineError(
            try CLI.run(["bench", "reference", "--key-block", "0"]),
            contains: "--query-rows, --key-block, --split-keys, --band and --timing-keys must be positive")
        CLI.expectOneLineError(
            try CLI.run(["sweep", "--cluster", "dgx-h100:2", "--seq-lens", "80k,,160k", "--gpus", "8", "--quiet"]),
            contains: "--seq-lens must be a comma-separated list without empty items")
    }

    @Test func fileAndLibraryErrorsAreOneLine() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/file.txt"
        try "not a folder".write(toFile: file, atomically: true, encoding: .utf8)
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--cluster", "no-such-preset:3"]), contains: "unknown preset 'no-such-preset:3'")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "cluster", "--cluster", dir + "/missing.yaml"]), contains: "missing.yaml")
        CLI.expectOneLineError(
            try CLI.run([
                "attention", "--q", dir + "/missing.npy", "--k", "k.npy", "--v", "v.npy", "--out", dir + "/o.npy",
            ]),
            contains: "missing.npy: no such file")
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", "tree", "--out", file]),
            contains: "\(file): exists and is not a folder")
        CLI.expectOneLineError(
            try CLI.run(["random-inputs", "--out", file]), contains: "\(file): exists and is not a directory")
        CLI.expectOneLineError(
            try CLI.run([
                "sweep", "--cluster", "dgx-h100:2", "--seq-lens", "80k", "--gpus", "8", "--out", file, "--quiet",
            ]),
            contains: "\(file): exists and is not a directory")
        CLI.expectOneLineError(
            try CLI.run(["reproduce-paper", "--out", dir + "/paper.txt"]), contains: "--out must name a .md file")
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", dir + "/missing.yaml", "--out", dir + "/g"]), contains: "missing.yaml")
        let json = dir + "/broken.json"
        try "[{\"name\": \"a\",".write(toFile: json, atomically: true, encoding: .utf8)
        let broken = try CLI.run(["golden", "--suite", json, "--out", dir + "/g"])
        CLI.expectOneLineError(broken, contains: "not a list of golden cases")
        #expect(!broken.stderr.contains("Error Domain="), "no NSError dump: \(broken.stderr)")
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--cluster", "mi300x", "--trace", dir + "/nofolder/t.json"]),
            contains: "nofolder")
    }

    /// Control characters in a message (here a file name with a newline) never break the one line, and stay visible
    /// escaped (`\n`, `\r`).
    @Test func messagesStayOnOneLine() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.expectOneLineError(
            try CLI.run(["attention", "--q", "a\nb.npy", "--k", "k.npy", "--v", "v.npy", "--out", dir + "/o.npy"]),
            contains: "a\\nb.npy")
        CLI.expectOneLineError(
            try CLI.run(["simulate", "collective", "--cluster", "mi300x", "--bytes", "1\r2MB"]),
            contains: "'1\\r2MB'")
        // A tensor name with a newline and an escape character, echoed from a .safetensors header.
        var header = Array(#"{"a\nb\u001b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
        file += [UInt8](repeating: 0, count: 8)
        try Data(file).write(to: URL(fileURLWithPath: dir + "/x.safetensors"))
        let x = dir + "/x.safetensors"
        CLI.expectOneLineError(
            try CLI.run(["attention", "--q", x, "--k", x, "--v", x, "--out", dir + "/o.npy"]),
            contains: "no tensor 'q' (has: 'a\\nb\\u{1B}')")
    }

    /// Every command and subcommand: a bad input is exit 2, one `Error: ` line, and no file left behind (each run
    /// starts in an empty folder and writes its outputs there).
    @Test func everyCommandFailsCleanly() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [([String], String)] = [
            (["demo", "--keys", "0"], "--keys must be"),
            (["demo", "--shards", "0"], "--shards must be"),
            (["explain", "--shards", "0"], "--shards must be in 1...16"),
            (
                ["attention", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy", "--lse", "l.npy"],
                "q.npy: no such file"
            ),
            (
                ["random-inputs", "--heads", "0", "--kv-heads", "0", "--out", "x.safetensors"],
                "must be a multiple of --kv-heads"
            ),
            (["random-inputs", "--std=-1", "--out", "x"], "--std must be positive"),
            (["golden", "--suite", "tree", "--dtype", "f64", "--out", "g"], "--dtype takes bf16, f16, f32"),
            (["check", "--golden", "g", "--results", "r", "--json", "r.json"], "g"),
            (["simulate", "cluster", "--cluster", "mi300x", "--gpus", "0"], "gpus"),
            (
                [
                    "simulate", "collective", "--cluster", "mi300x", "--bytes", "1MB", "--algorithm", "nccl", "--trace",
                    "t.json",
                ],
                "nothing to trace"
            ),
            (Self.decode + ["--cluster", "mi300x", "--strategy", "star", "--trace", "t.json"], "star"),
            (["sweep", "--cluster", "dgx-h100:1", "--seq-lens", "80k", "--gpus", "64", "--out", "s", "--quiet"], "64"),
            (
                [
                    "sweep", "--cluster", "dgx-h100:1", "--seq-lens", "80k", "--gpus", "8", "--out", "s/t", "--quiet",
                    "--hidden-sizes", "0",
                ],
                "hidden-sizes"
            ),
            (["reproduce-paper", "--out", "paper.txt"], "--out must name a .md file"),
            (
                ["bench", "reference", "--band", "0"],
                "--query-rows, --key-block, --split-keys, --band and --timing-keys must be positive"
            ),
            (["bench", "simulator", "--gpus", "7"], "--gpus must be a positive multiple of 8"),
        ]
        for (args, text) in cases {
            CLI.expectOneLineError(try CLI.run(args, in: dir), contains: text)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "\(args) left files")
        }
    }

    @Test func helpIsACleanExit() throws {
        for args in [
            ["--help"], ["help"], ["help", "simulate", "decode"], ["simulate", "decode", "--help"], ["sweep", "-h"],
            ["simulate"],
        ] {
            let r = try CLI.run(args)
            #expect(r.status == 0 && r.stderr.isEmpty, "\(args): \(r.stderr)")
            #expect(r.stdout.contains("USAGE:"), "\(args)")
        }
        let decodeHelp = try CLI.run(["simulate", "decode", "--help"]).stdout
        #expect(decodeHelp.contains("Query heads n_h (required)."))
        let sweepHelp = try CLI.run(["sweep", "--help"]).stdout
        #expect(
            sweepHelp.contains("Query heads n_h (default: 16).")
                && sweepHelp.contains("Head dimension d_h (default: 128)."))
    }
}
