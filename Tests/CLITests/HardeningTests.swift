import Foundation
import Testing

/// Issue 9: sizes that overflow, `--max-memory`, outputs that appear together or not at all, stale temporaries,
/// `check --json` checked before the check runs.
@Suite struct HardeningTests {
    /// The files in `dir` (hidden ones included), sorted.
    static func contents(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    @Test func randomInputsSizesThatOverflowAreOneLineErrors() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run([
            "random-inputs", "--heads", "16777216", "--seq-q", "16777216", "--head-dim", "16777216",
            "--out", dir + "/x.safetensors",
        ])
        CLI.expectOneLineError(r, contains: "q, k and v: size overflows")
        // Streamed block by block: the memory is two blocks of 2^20 f64 values (one written, the next drawn meanwhile)
        // whatever the size.
        let big = try CLI.run([
            "random-inputs", "--heads", "1", "--seq-q", "1", "--seq-k", "8388608", "--head-dim", "63",
            "--out", dir + "/big.safetensors", "--max-memory", "1MB",
        ])
        CLI.expectOneLineError(
            big, contains: "random-inputs (two blocks of generated values and the f64 bytes of one) needs about 16.8 MB"
        )
        #expect(big.stderr.contains("more than the 1.0 MB memory limit"))
        #expect(try Self.contents(dir).isEmpty)
    }

    @Test func maxMemoryRefusesAnAttentionRunOverTheBudget() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir + "/in", ["--heads", "4", "--seq-q", "256", "--seq-k", "1024", "--head-dim", "64"])
        let io = [
            "attention", "--q", dir + "/in/q.npy", "--k", dir + "/in/k.npy", "--v", dir + "/in/v.npy", "--out",
            dir + "/o.npy",
        ]
        let refused = try CLI.run(io + ["--max-memory", "1MB"])
        CLI.expectOneLineError(refused, contains: "reading the inputs needs about ")
        #expect(refused.stderr.contains("more than the 1.0 MB memory limit (--max-memory to change it)"))
        CLI.expectOneLineError(
            try CLI.run(io + ["--max-memory", "lots"]), contains: "--max-memory: cannot read 'lots' as a memory size")
        CLI.expectOneLineError(try CLI.run(io + ["--max-memory", "0"]), contains: "--max-memory: cannot read '0'")
        #expect(try Self.contents(dir) == ["in"])
        CLI.expectSuccess(try CLI.run(io + ["--max-memory", "512MiB"]))
        #expect(try Self.contents(dir) == ["in", "o.npy"])
    }

    /// Every command that allocates takes `--max-memory` (one option group, parsed before any work).
    @Test func everyAllocatingCommandTakesMaxMemory() throws {
        let commands: [[String]] = [
            ["attention", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy"],
            ["random-inputs", "--out", "x"],
            ["golden", "--out", "g"], ["check", "--golden", "g", "--results", "r"], ["explain"], ["demo"],
            ["simulate", "cluster", "--cluster", "mi300x"],
            ["simulate", "collective", "--cluster", "mi300x", "--bytes", "1MB"],
            ErrorContractTests.decode + ["--cluster", "mi300x"],
            ["sweep", "--cluster", "mi300x", "--seq-lens", "80k", "--gpus", "8"],
            ["reproduce-paper"],
        ]
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for args in commands {
            CLI.expectOneLineError(
                try CLI.run(args + ["--max-memory", "8XB"], in: dir), contains: "--max-memory: cannot read '8XB'")
            #expect(try CLI.run(args + ["--help"]).stdout.contains("--max-memory <size>"), "\(args)")
        }
        #expect(try Self.contents(dir).isEmpty)
        let ok = try CLI.run(["simulate", "cluster", "--cluster", "mi300x", "--max-memory", "2GiB"])
        let plain = try CLI.run(["simulate", "cluster", "--cluster", "mi300x"])
        #expect(ok.status == 0 && ok.stdout == plain.stdout)
    }

    @Test func attentionOutputsAppearTogetherOrNotAtAll() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir + "/in")
        let io = ["attention", "--q", dir + "/in/q.npy", "--k", dir + "/in/k.npy", "--v", dir + "/in/v.npy"]
        try FileManager.default.createDirectory(atPath: dir + "/out/sub.npy", withIntermediateDirectories: true)
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        // The LSE cannot be written (its path is a folder): the output must not appear either.
        CLI.expectOneLineError(
            try CLI.run(io + ["--out", dir + "/out/o.npy", "--lse", dir + "/out/sub.npy"]),
            contains: "sub.npy: is a folder")
        // A parent that is a regular file: refused before any work.
        CLI.expectOneLineError(
            try CLI.run(io + ["--out", dir + "/out/o.npy", "--lse", dir + "/file/l.npy"]),
            contains: "\(dir)/file: exists and is not a directory")
        #expect(try Self.contents(dir + "/out") == ["sub.npy"])
        // --out and --lse naming the same file, directly, through '..' or through a symlink, is a usage error.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/out")
        for lse in [dir + "/out/o.npy", dir + "/out/sub.npy/../o.npy", dir + "/link/o.npy"] {
            CLI.expectOneLineError(
                try CLI.run(io + ["--out", dir + "/out/o.npy", "--lse", lse]), contains: "are the same file")
        }
        #expect(try Self.contents(dir + "/out") == ["sub.npy"])
        CLI.expectOneLineError(try CLI.run(io + ["--out", dir + "/out/o.txt"]), contains: "unknown output type")
        CLI.expectSuccess(try CLI.run(io + ["--out", dir + "/out/o.npy", "--lse", dir + "/out/l.npy"]))
        #expect(try Self.contents(dir + "/out") == ["l.npy", "o.npy", "sub.npy"])
    }

    @Test func randomInputsFilesAppearTogether() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // v.npy cannot be written (a folder is there): q.npy and k.npy must not appear.
        try FileManager.default.createDirectory(atPath: dir + "/x/v.npy", withIntermediateDirectories: true)
        CLI.expectOneLineError(try CLI.run(["random-inputs", "--out", dir + "/x"]), contains: "v.npy: is a folder")
        #expect(try Self.contents(dir + "/x") == ["v.npy"])
        // A folder that cannot be created (its parent is a file), or a bad option: nothing is left, not even a folder.
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        CLI.expectOneLineError(
            try CLI.run(["random-inputs", "--out", dir + "/file/y"]), contains: "exists and is not a directory")
        CLI.expectOneLineError(
            try CLI.run(["random-inputs", "--out", dir + "/new/deeper/z", "--heads", "3", "--kv-heads", "2"]),
            contains: "multiple of --kv-heads")
        #expect(try Self.contents(dir) == ["file", "x"])
    }

    @Test func goldenWritesTheWholeSuiteOrNothing() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // An existing non-empty folder is refused before any work, and left as it was.
        try FileManager.default.createDirectory(atPath: dir + "/g", withIntermediateDirectories: true)
        try "mine".write(toFile: dir + "/g/notes.txt", atomically: true, encoding: .utf8)
        CLI.expectOneLineError(
            try CLI.run(["golden", "--suite", "edge", "--dtype", "f32", "--out", dir + "/g"]),
            contains: "\(dir)/g: folder exists and is not empty")
        #expect(try Self.contents(dir + "/g") == ["notes.txt"])
        // An empty folder is filled.
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        CLI.expectSuccess(try CLI.run(["golden", "--suite", "edge", "--dtype", "f32", "--out", dir + "/empty"]))
        #expect(try Self.contents(dir + "/empty").contains("manifest.json"))

        // Killed after its first case: no case file appears under --out; its temporary folder is recognisable and
        // the next run next to it removes it.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["golden", "--suite", "standard", "--out", dir + "/killed"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the first case file exists (in the temporary folder, or under --out), then kill.
        func caseWritten() throws -> Bool {
            let folders = try Self.contents(dir).filter { $0.hasPrefix(".treeattn-tmp-") || $0 == "killed" }
            return try folders.contains { try Self.contents(dir + "/" + $0).contains { $0.hasSuffix(".safetensors") } }
        }
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning, Date() < deadline, !(try caseWritten()) { usleep(10_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "golden was killed mid-run")
        #expect(!FileManager.default.fileExists(atPath: dir + "/killed"))
        let left = try Self.contents(dir).filter { $0.hasPrefix(".treeattn-tmp-\(p.processIdentifier)-") }
        let all = try Self.contents(dir)
        #expect(left.count == 1, "\(all)")
        CLI.expectSuccess(try CLI.run(["golden", "--suite", "edge", "--dtype", "f32", "--out", dir + "/again"]))
        #expect(try Self.contents(dir) == ["again", "empty", "g"])
    }

    @Test func sweepAndPaperFilesAppearTogether() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // speedup.svg cannot be written (a folder is there): sweep.csv and latency.svg must not appear.
        try FileManager.default.createDirectory(atPath: dir + "/s/speedup.svg", withIntermediateDirectories: true)
        CLI.expectOneLineError(
            try CLI.run([
                "sweep", "--cluster", "dgx-h100:2", "--seq-lens", "80k", "--gpus", "8",
                "--out", dir + "/s", "--quiet",
            ]), contains: "speedup.svg: is a folder")
        #expect(try Self.contents(dir + "/s") == ["speedup.svg"])
        // The markdown cannot be written: refused before the computation, and no plot appears.
        try FileManager.default.createDirectory(atPath: dir + "/p/paper.md", withIntermediateDirectories: true)
        CLI.expectOneLineError(
            try CLI.run(["reproduce-paper", "--out", dir + "/p/paper.md", "--quiet"]), contains: "paper.md: is a folder"
        )
        #expect(try Self.contents(dir + "/p") == ["paper.md"])
    }

    @Test func checkValidatesTheJSONLocationFirstAndExitsTwoOnErrors() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = dir + "/suite.yaml"
        try "- name: tiny\n  heads: 1\n  seq_q: 2\n  seq_k: 5\n  head_dim: 4\n".write(
            toFile: yaml, atomically: true, encoding: .utf8)
        CLI.expectSuccess(try CLI.run(["golden", "--suite", yaml, "--dtype", "f32", "--out", dir + "/g"]))
        let file = dir + "/g/tiny-f32.safetensors"
        try FileManager.default.createDirectory(atPath: dir + "/r", withIntermediateDirectories: true)
        CLI.expectSuccess(
            try CLI.run(["attention", "--q", file, "--k", file, "--v", file, "--out", dir + "/r/tiny-f32.safetensors"]))
        let bad = try CLI.run([
            "check", "--golden", dir + "/g", "--results", dir + "/r", "--json", dir + "/nodir/r.json",
        ])
        CLI.expectOneLineError(bad, contains: "nodir/r.json: output folder does not exist")
        #expect(bad.stdout.isEmpty, "the table is not printed before the error: \(bad.stdout)")
        CLI.expectOneLineError(
            try CLI.run(["check", "--golden", dir + "/nothing", "--results", dir + "/r"]), contains: "nothing")
        let ok = try CLI.run(["check", "--golden", dir + "/g", "--results", dir + "/r", "--json", dir + "/r.json"])
        #expect(ok.status == 0 && FileManager.default.fileExists(atPath: dir + "/r.json"), "\(ok.stdout)\(ok.stderr)")
    }

    @Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir)
        // A process that has exited: its PID is not alive.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = ".treeattn-tmp-\(gone.processIdentifier)-1-o.npy"
        let live = ".treeattn-tmp-\(getpid())-1-o.npy"
        let unrelated = ".o.npy.tmp-\(gone.processIdentifier)"
        for name in [stale, live, unrelated] {
            try "partial".write(toFile: dir + "/" + name, atomically: false, encoding: .utf8)
        }
        try FileManager.default.createDirectory(
            atPath: dir + "/.treeattn-tmp-\(gone.processIdentifier)-2-golden", withIntermediateDirectories: true)
        CLI.expectSuccess(
            try CLI.run([
                "attention", "--q", dir + "/q.npy", "--k", dir + "/k.npy", "--v", dir + "/v.npy", "--out",
                dir + "/o.npy",
            ]))
        #expect(try Self.contents(dir) == [unrelated, live, "k.npy", "o.npy", "q.npy", "v.npy"].sorted())
    }
}
