import Foundation
import Testing

/// `simulate cluster/collective/decode`, `sweep`, `reproduce-paper` and `bench simulator` end to end.
@Suite struct SimulatorCommandTests {
    static let decode = ["simulate", "decode", "--cluster", "dgx-h100:2", "--seq-len", "80000", "--heads", "16", "--head-dim", "128"]

    @Test func simulateClusterDescribesThePreset() throws {
        let r = try CLI.run(["simulate", "cluster", "--cluster", "dgx-h100:2"])
        CLI.expectSuccess(r)
        #expect(r.stdout.hasPrefix("cluster   "))
        #expect(r.stdout.contains("gpus      16 x"))
        #expect(r.stdout.contains("servers   2"))
        #expect(r.stdout.contains("link class"))
    }

    @Test func simulateCollectiveTableAndJSON() throws {
        let args = ["simulate", "collective", "--cluster", "dgx-h100:1", "--op", "allreduce", "--algorithm", "ring", "--bytes", "64MB"]
        let table = try CLI.run(args)
        CLI.expectSuccess(table)
        for row in ["operation", "algorithm", "busBw", "algBw", "messages"] { #expect(table.stdout.contains(row), "\(row)") }
        let json = try CLI.run(args + ["--format", "json", "--pacing", "after-delivery"])
        CLI.expectSuccess(json)
        let object = try #require(try CLI.json(json.stdout) as? [String: Any])
        #expect(object["operation"] as? String == "allreduce")
        #expect(object["gpus"] as? Int == 8)
        #expect((object["bus_bw_GBps"] as? Double ?? 0) > 0)
    }

    @Test func simulateDecodeTableJSONCSVAndTrace() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = try CLI.run(Self.decode + ["--trace", dir + "/trace.json"])
        CLI.expectSuccess(table)
        #expect(table.stdout.contains("N=80000 b=1 n_h=16 n_kv=16 d_h=128 bf16"))
        #expect(table.stdout.contains("bytes carried per link class"))
        let trace = try String(contentsOfFile: dir + "/trace.json", encoding: .utf8)
        #expect(try CLI.json(trace) is [String: Any] || (try CLI.json(trace)) is [Any], "trace is valid JSON")

        let json = try CLI.run(Self.decode + ["--format", "json", "--ring-kv", "native", "--kv-heads", "4", "--batch", "2"])
        CLI.expectSuccess(json)
        let object = try #require(try CLI.json(json.stdout) as? [String: Any])
        let strategies = try #require(object["strategies"] as? [[String: Any]])
        #expect(strategies.map { $0["strategy"] as? String } == ["tree", "ring"])
        let workload = try #require(object["workload"] as? [String: Any])
        #expect(workload["kv_heads"] as? Int == 4 && workload["batch"] as? Int == 2)
        let options = try #require(object["options"] as? [String: Any])
        #expect(options["ring_sends_expanded_kv"] as? Bool == false)

        let csv = try CLI.run(Self.decode + ["--format", "csv"])
        CLI.expectSuccess(csv)
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("strategy,gpus,latency_s,") == true)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 14 })
    }

    @Test func sweepWritesCSVAndPlots() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/sweep"
        let r = try CLI.run(["sweep", "--cluster", "dgx-h100:2", "--seq-lens", "80k", "--gpus", "8,16", "--out", out, "--quiet"])
        CLI.expectSuccess(r)
        #expect(r.stdout.hasPrefix("wrote ") && r.stdout.contains("(4 points)"))
        let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 5, "header + 2 GPU counts x 2 strategies")
        for svg in ["latency.svg", "speedup.svg", "memory.svg"] {
            #expect(try String(contentsOfFile: out + "/" + svg, encoding: .utf8).contains("<svg"), "\(svg)")
        }
        #expect(FileManager.default.fileExists(atPath: out + "/memory.csv"))
    }

    /// The committed docs/paper-reproduction.md (and its plots) are what `reproduce-paper` writes today, up to the
    /// --out path the document quotes.
    @Test func reproducePaperMatchesTheCommittedDocument() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/paper.md"
        let r = try CLI.run(["reproduce-paper", "--out", out, "--quiet"])
        CLI.expectSuccess(r)
        let written = try String(contentsOfFile: out, encoding: .utf8)
        let committed = try String(contentsOfFile: CLI.root + "/docs/paper-reproduction.md", encoding: .utf8)
        #expect(written.replacingOccurrences(of: out, with: "docs/paper-reproduction.md") == committed)
        for svg in ["paper-fig3-latency.svg", "paper-fig3-speedup.svg", "paper-tables-speedup.svg", "paper-memory.svg"] {
            let mine = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + svg))
            #expect(mine == (try Data(contentsOf: URL(fileURLWithPath: CLI.root + "/docs/" + svg))), "\(svg)")
        }
    }

    @Test func benchSimulatorRunsTiny() throws {
        let r = try CLI.run(["bench", "simulator", "--gpus", "8", "--bytes", "1MB", "--heap-operations", "1000"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("baseline  Heap<Event> pop+push"))
        #expect(r.stdout.contains("ring all-reduce: 8 GPUs"))
    }
}
