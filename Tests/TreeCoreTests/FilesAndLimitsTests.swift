import Foundation
import Testing
import TreeCore

/// Outputs that appear all together or not at all, memory estimates refused before allocating, hostile YAML.
@Suite struct FilesAndLimitsTests {
    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("treecore-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func names(_ dir: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }

    @Test func outputsAppearTogetherOnCommitAndNeverWithoutIt() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let outputs = try AtomicOutputs([dir + "/a.txt", dir + "/b.txt"])
            try outputs.write("first", to: dir + "/a.txt")
            #expect(try names(dir).allSatisfy { $0.hasPrefix(AtomicFile.temporaryPrefix) })
            outputs.discard()
        }
        #expect(try names(dir).isEmpty)
        let outputs = try AtomicOutputs([dir + "/a.txt", dir + "/b.txt"])
        try outputs.write("first", to: dir + "/a.txt")
        try outputs.write("second", to: dir + "/b.txt")
        try outputs.commit()
        #expect(try names(dir) == ["a.txt", "b.txt"])
        #expect(try String(contentsOfFile: dir + "/b.txt", encoding: .utf8) == "second")
    }

    @Test func clashingAndImpossibleDestinationsAreRefusedBeforeWork() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: CoreError.self) { try AtomicOutputs([dir + "/x.npy", dir + "/./x.npy"]) }
        #expect(throws: CoreError.self) { try AtomicOutputs([dir]) }
        #expect(throws: (any Error).self) { try AtomicOutputs([dir + "/missing/x.npy"]) }
        #expect(try names(dir).isEmpty)
        // With createFolders the missing folder is made, and removed again when nothing is committed.
        try AtomicOutputs([dir + "/made/x.npy"], createFolders: true).discard()
        #expect(try names(dir).isEmpty)
    }

    @Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // PID 2^22 + 1 is above Linux's pid_max default range of live test processes: treated as dead.
        let stale = dir + "/\(AtomicFile.temporaryPrefix)4194305-0-old.npy"
        let mine = AtomicFile.temporaryPath(for: dir + "/live.npy")
        _ = FileManager.default.createFile(atPath: stale, contents: Data([1]))
        _ = FileManager.default.createFile(atPath: mine, contents: Data([1]))
        AtomicFile.removeStaleTemporaries(in: dir)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: mine))
    }

    @Test func memoryEstimatesAreCheckedWithOverflowChecks() throws {
        #expect(try MemoryBudget(parsing: "8GB").limitBytes == 8_000_000_000)
        #expect(try MemoryBudget(parsing: "512MiB").limitBytes == 512 << 20)
        #expect(try MemoryBudget(parsing: "1e9").limitBytes == 1_000_000_000)
        for bad in ["", "-1", "1XB", "nan", "1e30"] {
            #expect(throws: CoreError.self) { try MemoryBudget(parsing: bad) }
        }
        #expect(try MemoryBudget.product([1 << 20, 1 << 10, 8], for: "x") == 1 << 33)
        #expect(throws: CoreError.self) { try MemoryBudget.product([1 << 40, 1 << 40], for: "x") }
        #expect(throws: CoreError.self) { try MemoryBudget.sum([Int.max, 1], for: "x") }
        let budget = MemoryBudget(limitBytes: 1_000_000)
        try budget.check(1_000_000, for: "exactly the limit")
        do {
            try budget.check(23_100_000, for: "reading the inputs")
            Issue.record("an estimate over the limit was accepted")
        } catch let error as CoreError {
            #expect(
                error.description
                    == "too large: reading the inputs needs about 23.1 MB, more than the 1.0 MB memory limit (--max-memory to change it)"
            )
        }
    }

    /// A few hundred bytes of YAML whose aliases expand to 10^12 nodes: refused with one line, fast; ordinary aliases
    /// still load as Yams would load them.
    @Test func yamlAliasBombIsRefused() throws {
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...11 {
            lines.append(
                "b\(i): &b\(i) [" + Array(repeating: i == 1 ? "*a" : "*b\(i - 1)", count: 10).joined(separator: ", ")
                    + "]")
        }
        #expect(throws: CoreError.self) {
            _ = try StructuredText.load(lines.joined(separator: "\n") + "\n", json: false)
        }
        let ok = try #require(
            try StructuredText.load("base: &b {x: 1, y: [2, 3]}\ncopy: *b\n", json: false) as? [String: Any])
        #expect((ok["copy"] as? [String: Any])?["x"] as? Int == 1)
        #expect(((ok["copy"] as? [String: Any])?["y"] as? [Any])?.count == 2)
        do {
            _ = try StructuredText.load("{\"a\": ", json: true)
            Issue.record("truncated JSON was accepted")
        } catch {
            let reason = StructuredText.reason(error)
            #expect(!reason.isEmpty && !reason.contains("\n"), "\(reason)")
        }
    }

    @Test func theHostIsDescribed() {
        #if os(Linux)
        #expect(HostMachine.cpuModel.map { !$0.isEmpty } == true)
        #expect(HostMachine.peakResidentSetBytes > 1e6)
        #endif
    }
}

/// Issue 24: the time budget, output paths that are not regular files or are inputs, and standard output.
@Suite struct TimeAndDestinationTests {
    @Test func durationsParseAndEstimatesOverTheLimitAreRefused() throws {
        #expect(try TimeBudget(parsing: "90").limitSeconds == 90)
        #expect(try TimeBudget(parsing: "10m").limitSeconds == 600)
        #expect(try TimeBudget(parsing: "1.5h").limitSeconds == 5400)
        #expect(try TimeBudget(parsing: "250ms").limitSeconds == 0.25)
        for bad in ["", "0", "-1s", "nan", "1e300h", "soon"] {
            #expect(throws: CoreError.self) { try TimeBudget(parsing: bad) }
        }
        let budget = TimeBudget(limitSeconds: 60)
        try budget.check(59, for: "x")
        #expect(
            throws: CoreError.tooLarge(
                "x would take about 2.0 min (why), more than the 60.0 s time limit (--max-time to change it)")
        ) {
            try budget.check(120, for: "x", detail: "why")
        }
        var expired = TimeBudget(limitSeconds: 1)
        expired.startNanoseconds = 0
        #expect(expired.expired)
        #expect(throws: CoreError.self) { try expired.checkDeadline(for: "x", done: "half") }
        #expect(TimeBudget.format(0.5) == "500 ms" && TimeBudget.format(3 * 86_400) == "3.0 days")
    }

    @Test func specialFilesEmptyPathsAndInputsAreRefusedAsOutputs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("treecore-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: dir + "/in", contents: Data([1, 2, 3])))
        #expect(link(dir + "/in", dir + "/hard") == 0)
        #expect(symlink(dir + "/in", dir + "/soft") == 0)
        #expect(throws: CoreError.self) { try AtomicFile.checkDestination(dir + "/fifo") }
        #expect(throws: CoreError.self) { try AtomicFile.checkDestination(dir + "/sub") }
        #expect(throws: CoreError.self) { try AtomicFile.checkDestination("") }
        // A symlink, even to a regular file (/dev/stdout redirected to a file is one): the rename would replace it.
        #expect(throws: CoreError.self) { try AtomicFile.checkDestination(dir + "/soft") }
        #expect(throws: CoreError.self) { _ = try AtomicOutputs(["/dev/stdout"]) }
        #expect(throws: CoreError.self) { try AtomicFile.write([1], to: dir + "/fifo") }
        #expect(throws: CoreError.self) { _ = try AtomicOutputs([dir + "/fifo"]) }
        #expect(throws: CoreError.self) { _ = try AtomicOutputs([""]) }
        #expect(throws: CoreError.self) { _ = try AtomicFolder(dir + "/fifo") }
        // An input, by another spelling or through a hard link.
        #expect(throws: CoreError.self) { _ = try AtomicOutputs([dir + "/sub/../in"], inputs: [dir + "/in"]) }
        #expect(throws: CoreError.self) { _ = try AtomicOutputs([dir + "/hard"], inputs: [dir + "/in"]) }
        try AtomicFile.checkDestination(dir + "/in")
        try AtomicFile.checkDestination(dir + "/new")
        var info = stat()
        #expect(stat(dir + "/fifo", &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/in")) == Data([1, 2, 3]))
        // `-` is standard output only where a command allows it; otherwise it is a file named "-".
        let stdout = try AtomicOutputs(["-"], standardOutput: true)
        try stdout.write([], to: "-")
        try stdout.commit()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["fifo", "hard", "in", "soft", "sub"])
    }
}
