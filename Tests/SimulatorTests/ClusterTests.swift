import Foundation
import Testing

@testable import Simulator

@Suite("Clusters, presets and files")
struct ClusterTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../fixtures/clusters").standardized.path

    @Test func presetsBuild() throws {
        let dgx = try Cluster.resolve("dgx-h100:4")
        #expect(dgx.gpuCount == 32 && dgx.serverCount == 4)
        #expect(try Cluster.resolve("dgx-h100", count: 2).gpuCount == 16)
        let mi = try Cluster.resolve("mi300x")
        #expect(mi.gpuCount == 8 && mi.network.links.count == 56)  // one 64 GB/s link per direction per pair
        let rtx = try Cluster.resolve("rtx4090-pcie")
        let route = try rtx.network.route(from: rtx.gpus[0], to: rtx.gpus[1])
        #expect(route.links.map { rtx.network.nodes[rtx.network.links[$0].to].kind } == [.host, .gpu])  // no P2P
    }

    @Test func presetPathsHaveTheExpectedHops() throws {
        let dgx = try ClusterPreset.dgxH100(servers: 2).build()
        let net = dgx.network
        #expect(try net.route(from: dgx.gpus[0], to: dgx.gpus[1]).hops == 2)  // GPU -> NVSwitch -> GPU
        #expect(try net.route(from: dgx.gpus[0], to: dgx.gpus[8]).hops == 4)  // same rail: NIC, leaf, NIC
        #expect(try net.route(from: dgx.gpus[7], to: dgx.gpus[8]).hops == 6)  // across rails via the spine
    }

    @Test func yamlAndJSONFixturesLoad() throws {
        let yaml = try ClusterFile.load(path: Self.fixtures + "/two-servers-ib.yaml")
        #expect(yaml.gpuCount == 8 && yaml.serverCount == 2 && yaml.gpu == .h100SXM5)
        let ib = try #require(yaml.network.linkClass(named: "ib"))
        #expect(yaml.network.links.contains { $0.linkClass == ib && $0.bandwidth == 50e9 })  // 400 Gb/s = 50 GB/s
        let json = try ClusterFile.load(path: Self.fixtures + "/pcie-ring-4.json")
        #expect(json.gpuCount == 4 && json.gpu.memoryBytes == 24e9)
        #expect(try ClusterFile.load(path: Self.fixtures + "/dgx-h100-16.yaml").gpuCount == 128)
    }

    func expectError(_ yaml: String, containing text: String) {
        do {
            _ = try ClusterFile.parse(yaml)
            Issue.record("expected an error containing '\(text)'")
        } catch let error as SimulatorError {
            #expect(error.description.contains(text), "\(error)")
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test func badFilesGiveOneLineErrors() {
        let base = """
            gpus: 2
            gpu: H100-SXM5
            link_classes: {wire: {forwarding: cut-through}}
            switches: [sw]
            """
        expectError(
            base + "\nlinks:\n  - {from: gpu0, to: sw, class: wire, bandwith_GBps: 1, latency_ns: 1}",
            containing: "unknown key 'bandwith_GBps'")
        expectError(
            base + "\nlinks:\n  - {from: gpu0, to: sw, class: wire, bandwidth_GBps: -3, latency_ns: 1}",
            containing: "must be > 0")
        expectError(
            base + "\nlinks:\n  - {from: gpu0, to: sw, class: wire, bandwidth_GBps: 0, latency_ns: 1}",
            containing: "must be > 0")
        expectError(
            base + "\nlinks:\n  - {from: gpu0, to: sw, class: wire, bandwidth_GBps: 1, latency_ns: 1}",
            containing: "cannot reach")
        expectError(
            base + "\nlinks:\n  - {from: gpu0, to: sw, class: fibre, bandwidth_GBps: 1, latency_ns: 1}",
            containing: "unknown link class")
        expectError(
            base + "\nlinks:\n  - {from: gpu9, to: sw, class: wire, bandwidth_GBps: 1, latency_ns: 1}",
            containing: "unknown node 'gpu9'")
        expectError("gpus: 0\ngpu: H100-SXM5\nlinks: []", containing: "'gpus' must be in 1...65536")
        expectError("preset: dgx-a900", containing: "unknown preset")
        expectError("preset: dgx-h100\ncolour: blue", containing: "unknown key 'colour'")
        expectError("preset: mi300x\nnodes: 12", containing: "1 to 8")
        expectError("gpus: [", containing: "syntax error")
        #expect(throws: SimulatorError.self) { try Cluster.resolve("nosuch-preset") }
        #expect(throws: SimulatorError.self) { try Cluster.resolve("missing/file.yaml") }
        #expect(throws: SimulatorError.self) { try Cluster.resolve("dgx-h100:0") }
        #expect(throws: SimulatorError.self) { try Cluster.resolve("dgx-h100:2", count: 3) }
    }
}
