import Foundation
import Testing

/// `treeattn-mpi` without mpirun (a singleton MPI job of one rank): the same error contract as `treeattn`, and one
/// rank computing exactly what `treeattn attention` computes. The multi-rank checks are python/mpi_check.py.
@Suite struct MPICommandTests {
    func mpi(_ args: [String], in directory: String? = nil) throws -> CLI.Result {
        try CLI.run(args, in: directory, binary: CLI.mpiBinary)
    }

    @Test func badArgumentsAreOneLineErrors() throws {
        CLI.expectOneLineError(
            try mpi(["attention", "--reduction", "star", "--random", "--out", "x.npy"]), contains: "star")
        CLI.expectOneLineError(try mpi(["attention", "--out", "x.npy"]), contains: "--q, --k and --v")
        CLI.expectOneLineError(
            try mpi(["attention", "--random", "--q", "q.npy", "--out", "x.npy"]), contains: "not both")
        CLI.expectOneLineError(try mpi(["attention", "--random"]), contains: "nothing to write")
        CLI.expectOneLineError(
            try mpi(["attention", "--random", "--out", "x.npy", "--repeat", "0"]), contains: "--repeat")
        CLI.expectOneLineError(
            try mpi(["attention", "--random", "--heads", "3", "--kv-heads", "2", "--out", "x.npy"]),
            contains: "multiple")
        CLI.expectOneLineError(
            try mpi(["calibrate", "--out", "c.yaml", "--decode-keys", "1"]), contains: "--decode-keys")
        CLI.expectOneLineError(try mpi(["validate", "--networks", "wifi"]), contains: "wifi")
    }

    @Test func oneRankEqualsTheSingleProcessReference() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir, ["--seq-k", "23", "--seq-q", "3", "--heads", "4", "--kv-heads", "2"])
        let files = ["--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--causal", "bottom-right"]
        CLI.expectSuccess(try CLI.run(["attention"] + files + ["--out", "ref.npy", "--lse", "ref-lse.npy"], in: dir))
        for reduction in ["algorithm3", "merge-op", "binary", "ring", "pass-partials"] {
            let r = try mpi(
                ["attention"] + files + ["--reduction", reduction, "--out", "o.npy", "--lse", "l.npy"], in: dir)
            CLI.expectSuccess(r)
            // One rank: no reduction happens, so every method returns the exact result bit for bit.
            #expect(
                FileManager.default.contents(atPath: dir + "/o.npy")
                    == FileManager.default.contents(atPath: dir + "/ref.npy"), "\(reduction)")
            #expect(
                FileManager.default.contents(atPath: dir + "/l.npy")
                    == FileManager.default.contents(atPath: dir + "/ref-lse.npy"), "\(reduction)")
        }
    }

    @Test func missingAndTruncatedInputsNameTheRankAndWriteNothing() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.inputs(dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/k.npy"))
        try bytes.prefix(bytes.count - 16).write(to: URL(fileURLWithPath: dir + "/short.npy"))
        CLI.expectOneLineError(
            try mpi(["attention", "--q", "q.npy", "--k", "nothere.npy", "--v", "v.npy", "--out", "o.npy"], in: dir),
            contains: "rank 0: nothere.npy")
        CLI.expectOneLineError(
            try mpi(
                [
                    "attention", "--q", "q.npy", "--k", "short.npy", "--v", "v.npy", "--out", "o.npy", "--report",
                    "r.json",
                ], in: dir),
            contains: "rank 0: short.npy: truncated")
        CLI.expectOneLineError(
            try mpi(
                ["attention", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy", "--max-memory", "1kB"],
                in: dir),
            contains: "rank 0: too large")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            !["q.npy", "k.npy", "v.npy", "short.npy"].contains($0)
        }
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test func reportHoldsEveryPhaseOfEveryRun() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.expectSuccess(
            try mpi(
                [
                    "attention", "--random", "--seq-k", "64", "--reduction", "algorithm3", "--repeat", "4", "--warmup",
                    "2",
                    "--report", "r.json",
                ], in: dir))
        let report = try CLI.json(String(contentsOfFile: dir + "/r.json", encoding: .utf8)) as! [String: Any]
        #expect(report["ranks"] as? Int == 1 && (report["steps"] as? [Double])?.count == 4)
        let phases = ((report["per_rank"] as! [[String: Any]])[0]["phases"] as! [[String: Any]]).map {
            $0["name"] as! String
        }
        #expect(
            phases == [
                "local attention", "allreduce max", "rescale", "allreduce numerator", "allreduce denominator", "divide",
            ])
    }
}
