import Foundation
import Testing

/// `simulate cluster/collective/decode`, `sweep`, `reproduce-paper` and `bench simulator` end to end.
@Suite struct SimulatorCommandTests {
    static let decode = [
        "simulate", "decode", "--cluster", "dgx-h100:2", "--seq-len", "80000", "--heads", "16", "--head-dim", "128",
    ]

    @Test func simulateClusterDescribesThePreset() throws {
        let r = try CLI.run(["simulate", "cluster", "--cluster", "dgx-h100:2"])
        CLI.expectSuccess(r)
        #expect(r.stdout.hasPrefix("cluster   "))
        #expect(r.stdout.contains("gpus      16 x"))
        #expect(r.stdout.contains("servers   2"))
        #expect(r.stdout.contains("link class"))
    }

    /// The 65,536-GPU fat-tree preset's summary (tiers from the arithmetic), and a bad `fat_tree:` key as one line.
    @Test func simulateClusterDescribesAFatTree() throws {
        let r = try CLI.run(["simulate", "cluster", "--cluster", "dgx-h100-3tier:8192"])
        CLI.expectSuccess(r)
        #expect(r.stdout.contains("gpus      65536 x"))
        #expect(
            r.stdout.contains(
                "fabric    3-tier fat tree, radix 64, rail-optimised, 8 planes: 2048 leaf (32 down, 32 up), 2048 spine (32 down, 32 up), 8192 core"
            ))
        #expect(r.stdout.contains("ib-core"))
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/bad.yaml"
        try
            "gpu: H100-SXM5\nfat_tree: {nodes: 4, radix: 64, tiers: [{bandwidth_Gbps: 400, latency_ns: 500, oversubscription: 2}, {bandwidth_Gbps: 400, latency_ns: 500}]}\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        CLI.expectOneLineError(
            try CLI.run(["simulate", "cluster", "--cluster", file]), contains: "does not split 64 ports")
    }

    /// `simulate prefill` (issue 26, part 4): every strategy in the table; JSON whose causal pairs add up to
    /// n(n+1)/2 per strategy, with the zigzag ring perfectly balanced and the contiguous ring at (2p-1)/p; CSV with
    /// the documented header; a trace; MLA and sliding-window models refused with one line.
    @Test func simulatePrefillTableJSONCSVAndTrace() throws {
        let args = [
            "simulate", "prefill", "--cluster", "dgx-h100", "--seq-len", "16384", "--heads", "16", "--kv-heads", "4",
            "--head-dim", "128",
        ]
        let table = try CLI.run(args)
        CLI.expectSuccess(table)
        for s in ["ring", "zigzag", "striped", "all-gather", "pass-q", "imbalance"] {
            #expect(table.stdout.contains(s), "\(s)")
        }
        let json = try CLI.run(args + ["--format", "json"])
        CLI.expectSuccess(json)
        let object = try #require(try CLI.json(json.stdout) as? [String: Any])
        let strategies = try #require(object["strategies"] as? [[String: Any]])
        #expect(strategies.count == 5)
        for s in strategies { #expect(s["visible_pairs"] as? Int == 16384 * 16385 / 2) }
        // The contiguous ring's last rank: t(t+1)/2 + 7 t^2 pairs (t = 2048) against a mean of n(n+1)/16.
        let t = 2048.0, last = t * (t + 1) / 2 + 7 * t * t, mean = 16384.0 * 16385 / 16
        let ring = try #require(strategies[0]["imbalance"] as? Double)
        #expect(abs(ring - last / mean) < 1e-12, "\(ring)")
        #expect(strategies[1]["strategy"] as? String == "zigzag" && strategies[1]["imbalance"] as? Double == 1)
        let csv = try CLI.run(args + ["--format", "csv", "--strategy", "zigzag"])
        CLI.expectSuccess(csv)
        #expect(csv.stdout.hasPrefix("strategy,gpus,latency_s,compute_s,communication_s,idle_s,bytes_sent_per_device"))
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.expectSuccess(try CLI.run(args + ["--trace", dir + "/prefill.json"]))
        #expect(FileManager.default.fileExists(atPath: dir + "/prefill.json"))
        for model in ["deepseek-v3", "gpt-oss-120b-sliding"] {
            CLI.expectOneLineError(
                try CLI.run(["simulate", "prefill", "--cluster", "dgx-h100", "--seq-len", "4096", "--model", model]),
                contains: model == "deepseek-v3" ? "latent K/V" : "sliding-window")
        }
    }

    @Test func simulateCollectiveTableAndJSON() throws {
        let args = [
            "simulate", "collective", "--cluster", "dgx-h100:1", "--op", "allreduce", "--algorithm", "ring", "--bytes",
            "64MB",
        ]
        let table = try CLI.run(args)
        CLI.expectSuccess(table)
        for row in ["operation", "algorithm", "busBw", "algBw", "messages"] {
            #expect(table.stdout.contains(row), "\(row)")
        }
        let json = try CLI.run(args + ["--format", "json", "--pacing", "after-delivery"])
        CLI.expectSuccess(json)
        let object = try #require(try CLI.json(json.stdout) as? [String: Any])
        #expect(object["operation"] as? String == "allreduce")
        #expect(object["gpus"] as? Int == 8)
        // Closed form of a ring all-reduce on one NVSwitch (450 GB/s per GPU per direction, 25 ns per hop, cut-through,
        // no contention): 2(p-1) steps of n/p bytes over GPU -> switch -> GPU, busBw = 2(p-1)/p x n / time.
        let (p, n, bandwidth, latency) = (8.0, 64e6, 450e9, 50e-9)
        let time = 2 * (p - 1) * (latency + n / p / bandwidth)
        let busBw = try #require(object["bus_bw_GBps"] as? Double),
            algBw = try #require(object["alg_bw_GBps"] as? Double)
        // Each step's transfer is rounded to the simulator's picoseconds: 14 steps, at most 14 ps apart.
        #expect(abs((object["time_s"] as? Double ?? 0) - time) < 14e-12, "\(object)")
        #expect(abs(busBw / (2 * (p - 1) / p * n / time / 1e9) - 1) < 1e-7, "\(busBw)")
        #expect(abs(busBw - algBw * 2 * (p - 1) / p) < 1e-9)
        #expect(object["schema_version"] as? Int == 1 && object["bytes"] as? Double == n)
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

        let json = try CLI.run(
            Self.decode + ["--format", "json", "--ring-kv", "native", "--kv-heads", "4", "--batch", "2"])
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

    /// `--backward`: the backward's latency and volumes next to the forward's in every format; a forward step's
    /// output has none of the new keys or columns.
    @Test func simulateDecodeBackwardStatesBothVolumes() throws {
        let json = try CLI.run(Self.decode + ["--backward", "--format", "json", "--strategy", "tree:ring,ring,single"])
        CLI.expectSuccess(json)
        let object = try #require(try CLI.json(json.stdout) as? [String: Any])
        #expect(object["step"] as? String == "backward")
        let rows = try #require(object["strategies"] as? [[String: Any]])
        #expect(rows.map { $0["strategy"] as? String } == ["tree:ring", "ring", "single"])
        for row in rows {
            for key in [
                "step", "forward_latency_s", "backward_latency_s", "elements_sent_per_device",
                "backward_elements_sent_per_device", "paper_backward_volume_elements",
            ] {
                #expect(row.keys.contains(key), "\(key)")
            }
            #expect(row["latency_s"] as? Double == row["backward_latency_s"] as? Double)
            #expect((row["backward_latency_s"] as? Double ?? 0) >= (row["forward_latency_s"] as? Double ?? .infinity))
        }
        // 16 GPUs: tree's ring all-reduces of D and dQ, 2(p-1)/p (b n_h + b d); the forward's V_tree next to it.
        let tree = rows[0], ring = rows[1]
        let treeBackward: Double = 2.0 * 15 / 16 * (16 + 2048), treeForward: Double = 2.0 * 15 / 16 * (2048 + 32)
        #expect(abs((tree["backward_elements_sent_per_device"] as? Double ?? 0) - treeBackward) < 1e-9)
        #expect(abs((tree["elements_sent_per_device"] as? Double ?? 0) - treeForward) < 1e-9)
        // Ring: K/V plus dK/dV, twice the forward's K/V.
        let ringForward = try #require(ring["elements_sent_per_device"] as? Double)
        #expect(ring["backward_elements_sent_per_device"] as? Double == 2 * ringForward)
        #expect(
            ring["paper_backward_volume_elements"] as? Double == 2 * (ring["paper_volume_elements"] as? Double ?? 0))
        #expect(rows[2]["paper_backward_volume_elements"] is NSNull && rows[0]["paper_peak_memory_elements"] is NSNull)

        let table = try CLI.run(Self.decode + ["--step", "training"])
        CLI.expectSuccess(table)
        #expect(table.stdout.contains("N=80000 b=1 n_h=16 n_kv=16 d_h=128 bf16; training step"), "\(table.stdout)")
        for column in ["fwd alone", "bwd alone", "fwd sent/dev", "bwd sent/dev", "paper V fwd", "paper V bwd"] {
            #expect(table.stdout.contains(column), "\(column)")
        }
        let csv = try CLI.run(Self.decode + ["--backward", "--format", "csv"])
        CLI.expectSuccess(csv)
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(
            lines.first?.hasSuffix(
                ",speedup_vs_ring,step,forward_latency_s,backward_latency_s,backward_elements_sent_per_device,paper_backward_volume_elements"
            ) == true)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 19 })

        // The trace labels the backward's kernels and names the step in each section.
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        CLI.expectSuccess(try CLI.run(Self.decode + ["--step", "training", "--trace", dir + "/trace.json"]))
        let trace = try #require(
            try CLI.json(try String(contentsOfFile: dir + "/trace.json", encoding: .utf8)) as? [String: Any])
        let events = try #require(trace["traceEvents"] as? [[String: Any]])
        let names = Set(events.compactMap { $0["name"] as? String })
        let processes = Set(events.compactMap { ($0["args"] as? [String: Any])?["name"] as? String })
        for name in ["flash-backward", "flash-decode", "accumulate dK/dV", "backward D = rowsum(dO o O)"] {
            #expect(names.contains(name), "\(name)")
        }
        #expect(
            processes.contains("tree (training) / s0/gpu0") && processes.contains("ring (training) / s1/gpu7"),
            "\(processes)")

        // A forward step prints none of it.
        let forward = try CLI.run(Self.decode + ["--format", "json"])
        let forwardObject = try #require(try CLI.json(forward.stdout) as? [String: Any])
        #expect(forwardObject["step"] == nil)
        #expect(
            ((forwardObject["strategies"] as? [[String: Any]]) ?? []).allSatisfy {
                $0["backward_elements_sent_per_device"] == nil
            })
        let explicit = try CLI.run(Self.decode + ["--format", "json", "--step", "forward"])
        #expect(explicit.stdout == forward.stdout)
    }

    /// Strategies without a backward model, and contradictory step options, are one-line errors.
    @Test func simulateDecodeBackwardRefusals() throws {
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--backward", "--strategy", "tree,gather"]),
            contains: "unsupported: no backward model for 'gather' (its output is on rank 0 only")
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--step", "training", "--strategy", "ring-sendrecv"]),
            contains: "no backward model for 'ring-sendrecv'")
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--backward", "--step", "training"]),
            contains: "--backward is --step backward; it cannot be combined with --step training")
        CLI.expectOneLineError(try CLI.run(Self.decode + ["--step", "sideways"]), contains: "sideways")
        CLI.expectSuccess(try CLI.run(Self.decode + ["--backward", "--step", "backward", "--format", "csv"]))
    }

    static let cpuStar = CLI.root + "/fixtures/clusters/cpu-star-4.yaml"
    static let cpuDecode = [
        "simulate", "decode", "--cluster", cpuStar, "--seq-len", "4000", "--heads", "4", "--kv-heads", "2",
        "--head-dim", "64", "--dtype", "f64", "--strategy", "tree:ring",
    ]

    /// A CPU cluster says so in the summary, with its calibrated overheads; a GPU preset's summary is unchanged.
    @Test func simulateClusterDescribesCPURanks() throws {
        let r = try CLI.run(["simulate", "cluster", "--cluster", Self.cpuStar])
        CLI.expectSuccess(r)
        #expect(
            r.stdout.contains(
                "ranks     4 x test-cpu-rank (cpu) (16 GB, memory 20.00 GB/s, GEMM 50.0 GFLOP/s per rank)"),
            "\(r.stdout)")
        #expect(r.stdout.contains("nodes     6 (4 cpu, 2 switch, 0 nic, 0 host)"))
        #expect(
            r.stdout.contains(
                "overheads kernel launch 5.000 us, collective call 30.00 us, per message 2.000 us, eta_mem 0.8, eta_compute 0.5"
            ))
        #expect(!r.stdout.contains("gpus      ") && !r.stdout.contains("HBM"))
        let gpu = try CLI.run(["simulate", "cluster", "--cluster", "mi300x:2"])
        #expect(
            gpu.stdout.contains("gpus      2 x MI300X (192 GB, HBM 5300.00 GB/s, BF16 1307.4 TFLOP/s)"), "\(gpu.stdout)"
        )
        #expect(
            gpu.stdout.contains("nodes     2 (2 gpu, 0 switch, 0 nic, 0 host)") && !gpu.stdout.contains("overheads"))
    }

    /// `simulate decode` on a CPU cluster file: the device kind is printed, the file's overheads are the defaults,
    /// and an option given overrides its value only.
    @Test func simulateDecodeOnCPURanksUsesTheFilesOverheads() throws {
        let table = try CLI.run(Self.cpuDecode)
        CLI.expectSuccess(table)
        #expect(
            table.stdout.hasPrefix("cpu-star-4: 4 x test-cpu-rank (cpu); N=4000 b=1 n_h=4 n_kv=2 d_h=64 f64\n"),
            "\(table.stdout)")

        func options(_ extra: [String]) throws -> (object: [String: Any], options: [String: Any]) {
            let r = try CLI.run(Self.cpuDecode + ["--format", "json"] + extra)
            CLI.expectSuccess(r)
            let object = try #require(try CLI.json(r.stdout) as? [String: Any])
            return (object, try #require(object["options"] as? [String: Any]))
        }
        let (object, file) = try options([])
        #expect(object["device_kind"] as? String == "cpu" && object["gpu"] as? String == "test-cpu-rank")
        #expect((object["workload"] as? [String: Any])?["dtype"] as? String == "f64")
        #expect(file["kernel_launch_s"] as? Double == 5e-6 && file["collective_call_s"] as? Double == 3e-5)
        #expect(file["per_message_s"] as? Double == 2e-6)
        #expect(file["memory_efficiency"] as? Double == 0.8 && file["compute_efficiency"] as? Double == 0.5)
        let (_, overridden) = try options(["--launch-us", "0", "--eta-mem", "1", "--per-message-us", "7"])
        #expect(overridden["kernel_launch_s"] as? Double == 0 && overridden["memory_efficiency"] as? Double == 1)
        #expect(overridden["per_message_s"] as? Double == 7e-6)
        #expect(
            overridden["collective_call_s"] as? Double == 3e-5 && overridden["compute_efficiency"] as? Double == 0.5)
        // Overriding changes the latency; a bad option value is still a one-line error naming the option.
        let latency = { (o: [String: Any]) in
            ((o["strategies"] as? [[String: Any]])?.first?["latency_s"] as? Double) ?? 0
        }
        #expect(latency(object) != latency(try options(["--launch-us", "0"]).object))
        CLI.expectOneLineError(
            try CLI.run(Self.cpuDecode + ["--eta-mem", "0"]), contains: "--eta-mem must be in (0, 1], got 0.0")
        CLI.expectOneLineError(try CLI.run(Self.cpuDecode + ["--launch-us=-1"]), contains: "--launch-us must be >= 0")
        // GPU clusters: no device_kind key; f64 is accepted there too, fp64 as its spelling.
        let gpu = try CLI.run(Self.decode + ["--format", "json", "--dtype", "fp64"])
        CLI.expectSuccess(gpu)
        let gpuObject = try #require(try CLI.json(gpu.stdout) as? [String: Any])
        #expect(
            gpuObject["device_kind"] == nil && (gpuObject["workload"] as? [String: Any])?["dtype"] as? String == "fp64")
        CLI.expectOneLineError(
            try CLI.run(Self.decode + ["--dtype", "f128"]),
            contains: "unknown dtype 'f128' (bf16, fp16, fp32, f64, fp8)")
    }

    /// `sweep` takes the cluster file's overheads as its defaults too, and records the values used.
    @Test func sweepUsesTheClusterFilesOverheads() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func column(_ name: String, _ extra: [String]) throws -> [String] {
            let out = dir + "/s\(extra.count)"
            let r = try CLI.run(
                [
                    "sweep", "--cluster", Self.cpuStar, "--seq-lens", "4000", "--gpus", "4", "--heads", "4",
                    "--head-dim", "64", "--dtype", "f64", "--hidden-sizes", "", "--out", out, "--quiet",
                ] + extra)
            CLI.expectSuccess(r)
            let lines = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8).split(separator: "\n").map {
                $0.split(separator: ",", omittingEmptySubsequences: false)
            }
            let i = try #require(lines[0].firstIndex(of: Substring(name)))
            return lines.dropFirst().map { String($0[i]) }
        }
        func numbers(_ name: String, _ extra: [String]) throws -> [Double] {
            try column(name, extra).map { Double($0) ?? .nan }
        }
        #expect(try numbers("kernel_launch_s", []).allSatisfy { abs($0 - 5e-6) < 1e-15 })
        #expect(try numbers("memory_efficiency", []) == [0.8, 0.8])
        #expect(try numbers("kernel_launch_s", ["--launch-us", "1"]).allSatisfy { abs($0 - 1e-6) < 1e-15 })
        #expect(try column("dtype", []) == ["f64", "f64"])
    }

    @Test func sweepWritesCSVAndPlots() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/sweep"
        let r = try CLI.run([
            "sweep", "--cluster", "dgx-h100:2", "--seq-lens", "80k", "--gpus", "8,16", "--out", out, "--quiet",
        ])
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
        for svg in ["paper-fig3-latency.svg", "paper-fig3-speedup.svg", "paper-tables-speedup.svg", "paper-memory.svg"]
        {
            let mine = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + svg))
            #expect(mine == (try Data(contentsOf: URL(fileURLWithPath: CLI.root + "/docs/" + svg))), "\(svg)")
        }
    }

    /// The committed docs/validation-published.md, its CSV and plots are what `validate-published` writes today; the
    /// held-out rows of the 8-GPU H100 and H200 systems (the curve from 1 MiB to 8 GiB included) meet issue 26's goal
    /// (median |error| <= 15%, every row <= 25%), and every held-out row from 8 MiB up is within 25% (the A100-80GB
    /// curve misses at 1 and 2 MiB, stated in the document with the cause); refusals leave nothing behind.
    @Test func validatePublishedMatchesTheCommittedDocumentAndTheGoal() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["validate-published", "--out", dir])
        CLI.expectSuccess(r)
        for name in [
            "validation-published.md", "validation-published/validation-published.csv",
            "validation-published/validation-published.svg", "validation-published/curves.svg",
            "validation-published/attention.csv", "validation-published/attention.svg",
        ] {
            let mine = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            #expect(mine == (try Data(contentsOf: URL(fileURLWithPath: CLI.root + "/docs/" + name))), "\(name)")
        }
        // The CSV's errors, read back here: the goal of the issue on the held-out rows.
        let csv = try String(contentsOfFile: dir + "/validation-published/validation-published.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        let heldOut = rows.filter { $0[0] == "held-out" }
        let hopper = heldOut.filter { $0[1] == "dgx-h100" || $0[1] == "dgx-h200" }.map { abs(Double($0[7])!) }.sorted()
        #expect(hopper.count >= 19)  // five 4 GB points and the H200 curve's 14
        #expect(hopper[hopper.count / 2] <= 0.15 && hopper.last! <= 0.25, "\(hopper)")
        #expect(heldOut.filter { Double($0[4])! >= 8_388_608 }.allSatisfy { abs(Double($0[7])!) <= 0.25 })
        // Each error is (predicted - measured) / measured of the printed bandwidths.
        for row in rows {
            let (measured, predicted, error) = (Double(row[5])!, Double(row[6])!, Double(row[7])!)
            #expect(abs(predicted / measured - 1 - error) < 1e-3, "\(row)")
        }
        // Context-parallel attention (Meta's Tables 5 and 8): every held-out row within 30% except the misses whose
        // cause the document states (the batch-4 decode kernels and the CP4 batch-4 decode built on them, the
        // 10%-miss prefill All2All); each error recomputed from the printed microseconds.
        let attention = try String(contentsOfFile: dir + "/validation-published/attention.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(attention.filter { $0[0] == "held-out" }.count == 20)
        for row in attention {
            let (measured, predicted, error) = (Double(row[8])!, Double(row[9])!, Double(row[10])!)
            #expect(abs(predicted / measured - 1 - error) < 1e-4, "\(row)")
            if row[0] == "calibration" { #expect(abs(error) < 1e-3, "\(row)") }
            let stated =
                (row[5] == "4"
                    && (row[7] == "decode attention op" || (row[7] == "whole pass-Q decode" && row[2] == "4")))
                || (row[7] == "prefill All2All" && row[4] == "12800")
            if row[0] == "held-out" { #expect((abs(error) <= 0.30) != stated, "\(row)") }
        }
        // An output that cannot be written: one line, nothing half-written.
        let blocked = dir + "/file"
        #expect(FileManager.default.createFile(atPath: blocked, contents: Data()))
        CLI.expectOneLineError(
            try CLI.run(["validate-published", "--out", blocked]), contains: "exists and is not a directory")
    }

    /// `--model` (issue 26, part 3): DeepSeek-V3's latent cache in the table, and the one-line refusals.
    @Test func modelsOfTodayRunOrAreRefused() throws {
        let r = try CLI.run([
            "simulate", "decode", "--cluster", "dgx-h100:2", "--model", "deepseek-v3", "--seq-len", "160000",
            "--strategy", "tree,ring",
        ])
        CLI.expectSuccess(r)
        #expect(r.stdout.contains("n_h=128 n_kv=1 d_h=576 d_v=512 latent K/V"), "\(r.stdout)")
        let json = try CLI.run([
            "simulate", "decode", "--cluster", "dgx-h100", "--model", "gpt-oss-120b-sliding", "--seq-len", "1000000",
            "--strategy", "tree", "--format", "json",
        ])
        CLI.expectSuccess(json)
        #expect(json.stdout.contains("\"seq_len\" : 128") || json.stdout.contains("\"seq_len\":128"), "\(json.stdout)")
        let base = ["simulate", "decode", "--cluster", "dgx-h100", "--seq-len", "1000"]
        CLI.expectOneLineError(
            try CLI.run(base + ["--model", "deepseek-v3", "--heads", "4"]), contains: "--model sets")
        CLI.expectOneLineError(try CLI.run(base + ["--model", "llama-2"]), contains: "unknown model 'llama-2'")
        CLI.expectOneLineError(
            try CLI.run(base + ["--heads", "4", "--kv-heads", "2", "--head-dim", "8", "--latent-kv"]),
            contains: "a latent KV cache (MLA) has one KV head")
        CLI.expectOneLineError(
            try CLI.run([
                "sweep", "--cluster", "dgx-h100", "--model", "deepseek-v3", "--seq-lens", "1000", "--gpus", "8",
                "--hidden-sizes", "2048", "--out", "/nonexistent/never",
            ]), contains: "covers plain attention")
    }

    @Test func benchSimulatorRunsTiny() throws {
        let r = try CLI.run([
            "bench", "simulator", "--gpus", "8", "--bytes", "1MB", "--heap-operations", "1000", "--decode-gpus", "16",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("baseline  Heap<Event> pop+push"))
        #expect(r.stdout.contains("ring all-reduce: 8 GPUs"))
        let decode = r.stdout.split(separator: "\n").filter { $0.hasPrefix("     16  ") }
        #expect(
            decode.count == 2 && decode[0].contains("tree") && decode[1].contains("ring")
                && decode.allSatisfy { $0.contains(" MB ") },
            "\(r.stdout)")
        let bad = try CLI.run(["bench", "simulator", "--decode-gpus", "12"])
        #expect(bad.status != 0 && bad.stderr.hasPrefix("Error:") && bad.stderr.contains("--decode-gpus"))
    }

    /// `treeattn scale` writes scale.md and scale/ together; a GPU count that is not whole servers is refused.
    @Test func scaleWritesTheDocumentAndPlots() throws {
        let dir = try CLI.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["scale", "--gpus", "8,16", "--seq-lens", "1M", "--out", dir + "/s", "--quiet"])
        CLI.expectSuccess(r)
        let md = try String(contentsOfFile: dir + "/s/scale.md", encoding: .utf8)
        #expect(md.contains("| 16 | "))
        for f in ["scale/scale.csv", "scale/latency-1M.svg", "scale/speedup.svg"] {
            #expect(md.contains("(\(f))"), "scale.md links \(f)")
            #expect(FileManager.default.fileExists(atPath: dir + "/s/" + f), "\(f)")
        }
        let bad = try CLI.run(["scale", "--gpus", "12", "--out", dir + "/t", "--quiet"])
        #expect(bad.status != 0 && bad.stderr.hasPrefix("Error:") && bad.stderr.contains("12"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/t/scale.md"))
    }
}
