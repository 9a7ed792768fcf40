import Foundation
import Testing

/// `attention --sinks/--sink-tokens`, `--backward --dlse/--dsinks` and `golden --suite sinks` through the binary
/// (issue 25). The numbers themselves are proved in the library's tests; these check what reaches the files.
@Suite struct SinkCommandTests {
    /// The f64 values of a little-endian .npy written by the CLI.
    static func values(_ path: String) throws -> [Double] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let body = data.dropFirst(10 + headerLength)
        return stride(from: body.startIndex, to: body.endIndex, by: 8).map { i in
            Double(bitPattern: body[i..<i + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.1) << (8 * $1.0) })
        }
    }

    @Test func sinksReachTheOutputAndCountOnceOverShards() throws {
        let dir = try BackwardCommandTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qkv = BackwardCommandTests.qkv(dir)
        func run(_ extra: [String], _ name: String) throws -> (out: [Double], lse: [Double]) {
            CLI.expectSuccess(
                try CLI.run(
                    ["attention"] + qkv + extra + ["--out", dir + "/\(name).npy", "--lse", dir + "/\(name)-l.npy"]))
            return (try Self.values(dir + "/\(name).npy"), try Self.values(dir + "/\(name)-l.npy"))
        }
        let plain = try run([], "plain")
        // A sink of -700 weighs exp(-700 - lse): nothing; the same output and LSE to rounding.
        let vanishing = try run(["--sinks=-700,-700,-700,-700"], "vanishing")
        #expect(zip(vanishing.out, plain.out).allSatisfy { abs($0 - $1) < 1e-15 })
        #expect(zip(vanishing.lse, plain.lse).allSatisfy { abs($0 - $1) < 1e-15 })
        // A sink of +700 takes the whole weight: output about 0, LSE = 700.
        let dominant = try run(["--sinks", "700,700,700,700"], "dominant")
        #expect(dominant.out.allSatisfy { abs($0) < 1e-200 } && dominant.lse.allSatisfy { $0 == 700 })
        // O_sink = O exp(lse - lse_sink) and lse_sink = logaddexp(lse, z_h): per head (4 heads x 3 queries).
        let sinks = [0.5, -1, 2, 0.25]
        let mixed = try run(["--sinks", "0.5,-1,2,0.25"], "mixed")
        for row in 0..<12 {
            let z = sinks[row / 3], l = plain.lse[row]
            let total = max(l, z) + log(exp(l - max(l, z)) + exp(z - max(l, z)))
            #expect(abs(mixed.lse[row] - total) < 1e-14)
            for c in 0..<8 { #expect(abs(mixed.out[row * 8 + c] - plain.out[row * 8 + c] * exp(l - total)) < 1e-14) }
        }
        // Over 5 shards the sink is merged once, after every reduction.
        for reduction in ["binary", "ring", "algorithm3", "kary:3"] {
            let sharded = try run(["--sinks", "0.5,-1,2,0.25", "--shards", "5", "--reduction", reduction], reduction)
            #expect(zip(sharded.out, mixed.out).allSatisfy { abs($0 - $1) < 1e-14 }, "\(reduction)")
            #expect(zip(sharded.lse, mixed.lse).allSatisfy { abs($0 - $1) < 1e-14 }, "\(reduction)")
        }
        // Sink tokens change a windowed answer.
        let window = try run(["--window", "2,0", "--causal", "bottom-right"], "window")
        let tokens = try run(["--window", "2,0", "--causal", "bottom-right", "--sink-tokens", "3"], "tokens")
        #expect(zip(window.out, tokens.out).contains { abs($0 - $1) > 1e-6 })
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--sinks", "1,2", "--out", dir + "/x.npy"]),
            contains: "sinks need one logit per query head (4), got 2")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--sinks", "1,nan,2,3", "--out", dir + "/x.npy"]),
            contains: "--sinks needs comma-separated finite numbers")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--sink-tokens=-2", "--out", dir + "/x.npy"]),
            contains: "sink tokens must be >= 0")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }

    @Test func backwardTakesDlseAndWritesDsinks() throws {
        let dir = try BackwardCommandTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qkv = BackwardCommandTests.qkv(dir)
        try HostileInputTests.npy(dir + "/dlse.npy", [1, 4, 3], (0..<12).map { Double($0) / 7 - 0.8 })
        let grads = { (tag: String) in
            ["--dq", dir + "/dq\(tag).npy", "--dk", dir + "/dk\(tag).npy", "--dv", dir + "/dv\(tag).npy"]
        }
        let base = ["attention"] + qkv + ["--backward", "--do", dir + "/do.npy", "--out", dir + "/o.npy"]
        CLI.expectSuccess(try CLI.run(base + grads("0")))
        CLI.expectSuccess(try CLI.run(base + ["--dlse", dir + "/dlse.npy"] + grads("1")))
        #expect(try Self.values(dir + "/dq0.npy") != Self.values(dir + "/dq1.npy"))
        // dV does not depend on dlse (P is the forward's).
        #expect(zip(try Self.values(dir + "/dv0.npy"), try Self.values(dir + "/dv1.npy")).allSatisfy { $0 == $1 })
        CLI.expectSuccess(
            try CLI.run(
                base + ["--dlse", dir + "/dlse.npy", "--sinks", "0.5,-1,2,0.25", "--dsinks", dir + "/ds.npy"]
                    + grads("2")))
        #expect(try Self.values(dir + "/ds.npy").count == 4)
        // Tree-parallel: the same dsinks (computed once from the global LSE), and the bundle holds them.
        CLI.expectSuccess(
            try CLI.run(
                ["attention"] + qkv + [
                    "--backward", "--do", dir + "/do.npy", "--dlse", dir + "/dlse.npy", "--sinks", "0.5,-1,2,0.25",
                    "--shards", "6", "--reduction", "binary", "--out", dir + "/all.safetensors",
                ]))
        let header = try String(
            decoding: Data(contentsOf: URL(fileURLWithPath: dir + "/all.safetensors")).prefix(4000), as: UTF8.self)
        #expect(header.contains("\"dsinks\""))
        CLI.expectOneLineError(
            try CLI.run(base + ["--dsinks", dir + "/x.npy"] + grads("3")), contains: "a dsinks output needs sinks")
        CLI.expectOneLineError(
            try CLI.run(["attention"] + qkv + ["--dlse", dir + "/dlse.npy", "--out", dir + "/x.npy"]),
            contains: "need --backward")
        CLI.expectOneLineError(
            try CLI.run(base + ["--dlse", dir + "/do.npy"] + grads("3")),
            contains: "dlse must be a float tensor of the LSE's shape")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.npy"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/dq3.npy"))
    }

    @Test func sinksSuiteIsWrittenAndItsBackwardChecked() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.expectSuccess(
            try CLI.run(["golden", "--suite", "sinks", "--dtype", "f32", "--backward", "--out", dir + "/g"]))
        let manifest = try String(contentsOfFile: dir + "/g/manifest.json", encoding: .utf8)
        #expect(manifest.contains("sinks-window-causal-gqa-f32") && manifest.contains("dsinks_atol"))
        #expect(manifest.contains("sinks-varlen-window-f32") && manifest.contains("sinks-paged-decode-p16-f32"))
    }
}
