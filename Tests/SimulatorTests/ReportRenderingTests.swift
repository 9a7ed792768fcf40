import Foundation
import Testing

@testable import Simulator

/// Reports render themselves: the decode comparison, the collective report and the cluster summary as table, JSON
/// and CSV, each checked against the report's own numbers (read back with JSONDecoder, which parses the shortest
/// round-trip text exactly).
@Suite struct ReportRenderingTests {
    static func model() throws -> DecodeModel {
        try DecodeModel(
            cluster: try Cluster.resolve("dgx-h100:2"),
            workload: try DecodeWorkload(sequenceLength: 1_280_000, heads: 16, kvHeads: 4, headDim: 128))
    }

    struct DecodeJSON: Decodable {
        struct Strategy: Decodable {
            var strategy: String, gpus: Int, latency_s: Double, compute_s: Double, speedup_vs_ring: Double?
            var elements_sent_per_device: Double, paper_volume_elements: Double?, bytes_per_link_class: [String: Double]
        }
        var schema_version: Int, cluster: String, gpus: Int, strategies: [Strategy]
        var workload: [String: JSONValue]
    }

    enum JSONValue: Decodable, Equatable {
        case number(Double), string(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) {
                self = .number(d)
            } else {
                self = .string(try c.decode(String.self))
            }
        }
    }

    @Test func theDecodeComparisonRendersItsOwnNumbers() throws {
        let c = try DecodeComparison(
            model: try Self.model(), strategies: [.tree(collective: .tree), .ring(overlap: true), .passPartials])
        let json = try JSONDecoder().decode(DecodeJSON.self, from: Data(try c.json().utf8))
        #expect(
            json.schema_version == SimulatorModule.schemaVersion && json.gpus == 16
                && json.cluster == c.model.cluster.name)
        #expect(json.workload["kv_heads"] == .number(4) && json.workload["dtype"] == .string("bf16"))
        for (row, report) in zip(json.strategies, c.reports) {
            #expect(
                row.strategy == report.strategy && row.latency_s == report.latency.seconds
                    && row.compute_s == report.compute.seconds)
            #expect(
                row.speedup_vs_ring == report.speedupVsRing && row.paper_volume_elements == report.paperVolumeElements)
            #expect(
                row.bytes_per_link_class
                    == Dictionary(report.bytesPerLinkClass.map { ($0.name, $0.bytes) }, uniquingKeysWith: { $1 }))
        }
        #expect(json.strategies[2].paper_volume_elements == nil)  // pass-partials has no paper formula: null
        let csv = c.csv.render().split(separator: "\n").map(String.init)
        #expect(csv.count == 4 && parseCSVLine(csv[0]) == c.csvHeader)
        #expect(parseCSVLine(csv[2])[2] == "\(c.reports[1].latency.seconds)")
        #expect(c.table.hasPrefix("dgx-h100:2: 16 x H100-SXM5; N=1280000 b=1 n_h=16 n_kv=4 d_h=128 bf16\n"))
        #expect(c.table.contains("bytes carried per link class") && !c.table.contains("was not run"))
    }

    /// Only the strategies asked for run; the speedup column says how to get it when no ring ran.
    @Test func aTreeOnlyComparisonRunsNoRing() throws {
        let m = try Self.model()
        let alone = try DecodeComparison(model: m, strategies: [.tree(collective: .tree)])
        #expect(alone.speedupMissing && alone.reports.count == 1 && !alone.baselineRun)
        #expect(
            alone.table.contains(
                "vs ring: the overlapped ring (this column's baseline) was not run; add ring to --strategy, or pass --ring-baseline"
            ))
        let withBaseline = try DecodeComparison(model: m, strategies: [.tree(collective: .tree)], ringBaseline: true)
        let ring = try m.run(.ring(overlap: true), recording: false)
        #expect(withBaseline.baselineRun && withBaseline.reports.count == 1)
        #expect(withBaseline.reports[0].speedupVsRing == ring.latency.seconds / withBaseline.reports[0].latency.seconds)
        #expect(withBaseline.reports[0].latency == alone.reports[0].latency)
    }

    @Test func theCollectiveReportRendersItsOwnNumbers() throws {
        let cluster = try Cluster.resolve("dgx-h100:2")
        let r = try Collective(.allreduce, algorithm: .ring, bytes: 64e6).run(on: cluster, recording: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try r.json().utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "schema_version", "cluster", "gpus", "operation", "algorithm", "method", "bytes", "time_s",
                "alg_bw_GBps", "bus_bw_GBps", "events", "messages", "bytes_per_link_class", "note",
            ])
        #expect(object["messages"] as? Int == r.messages && object["gpus"] as? Int == 16)
        let csv = r.csv.render().split(separator: "\n").map { parseCSVLine(String($0)) }
        #expect(csv.count == 2 && csv[0].count == csv[1].count)
        #expect(csv[1][csv[0].firstIndex(of: "time_s")!] == CSVTable.number(r.time.seconds))
        #expect(r.table.contains("busBw") && r.table.contains(formatBandwidth(r.busBandwidth)))
        #expect(try r.trace(on: cluster).jsonData().count > 0)
        let modelled = try Collective(.allreduce, algorithm: .nccl(algorithm: nil), bytes: 64e6).run(on: cluster)
        #expect(throws: SimulatorError.self) { _ = try modelled.trace(on: cluster) }
    }

    @Test func theClusterSummaryCountsEveryNodeAndLink() throws {
        let cluster = try Cluster.resolve("dgx-h100-3tier:4")
        let s = ClusterSummary(cluster)
        #expect(s.nodeCounts.reduce(0) { $0 + $1.count } == cluster.network.nodes.count)
        #expect(s.linkClasses.reduce(0) { $0 + $1.links } == cluster.network.links.count)
        #expect(s.table.hasPrefix("cluster   \(cluster.name)\ngpus      32 x H100-SXM5"))
        #expect(s.table.contains("fabric    3-tier fat tree, radix 64"))
        #expect(s.table == cluster.summary)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try s.json().utf8)) as? [String: Any])
        #expect(json["devices"] as? Int == 32 && (json["link_classes"] as? [Any])?.count == s.linkClasses.count)
        #expect(s.csv.rows.count == s.linkClasses.count && s.csv.header.first == "link_class")
    }
}
