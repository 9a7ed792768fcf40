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
            try CLI.run(base + ["--rotary-dim", "4"]), contains: "--rotary-dim and --rope-scaling need --rope")
        CLI.expectOneLineError(
            try CLI.run(base + ["--rope", "neox", "--rotary-dim", "5"]), contains: "rotary dim must be even")
        CLI.expectOneLineError(try CLI.run(base + ["--rope", "halves"]), contains: "--rope")
        CLI.expectOneLineError(try CLI.run(base + ["--cache-leftpad", "25"]), contains: "cache_leftpad entry 25")
        CLI.expectOneLineError(
            try CLI.run(base + ["--attention-chunk", "0"]), contains: "attention chunk must be >= 1")
        CLI.expectOneLineError(
            try CLI.run(
                base + [
                    "--rope", "neox", "--backward", "--do", dir + "/do.npy", "--dq", dir + "/a.npy", "--dk",
                    dir + "/b.npy", "--dv", dir + "/c.npy",
                ]), contains: "rotary embeddings in attention cover the dense forward")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }
}
