import Foundation
import Testing

@testable import Simulator

/// Issue 26, part 7: the decode kernel's time measured at several shard sizes (`KernelCurve`, a cluster file's
/// `overheads: decode_kernel:`) replaces one calibrated rate.
@Suite struct KernelCurveTests {
    /// 1 us at zero bytes, then 3, 5 and 17 us at 1, 4 and 16 kB.
    static func curve() throws -> KernelCurve {
        try KernelCurve(
            points: [
                .init(bytes: 1_000, seconds: 3e-6), .init(bytes: 4_000, seconds: 5e-6),
                .init(bytes: 16_000, seconds: 17e-6),
            ],
            fixed: .microseconds(1))
    }

    func expectError(_ yaml: String, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ClusterFile.parse(yaml)
            Issue.record("no error for \(yaml)", sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(text), "\(error)", sourceLocation: sourceLocation)
        }
    }

    /// Piecewise linear through the points, from the fixed cost at zero bytes, past the last along the last slope.
    @Test func timesArePiecewiseLinearThroughThePoints() throws {
        let c = try Self.curve()
        #expect(c.time(bytes: 0) == .zero)
        #expect(c.time(bytes: 500) == .microseconds(2))  // halfway from (0, 1 us) to (1000, 3 us)
        #expect(c.time(bytes: 1_000) == .microseconds(3))
        #expect(c.time(bytes: 2_500) == .microseconds(4))
        #expect(c.time(bytes: 16_000) == .microseconds(17))
        #expect(c.time(bytes: 28_000) == .microseconds(29))  // 1 us per 1000 bytes past the last point
        let one = try KernelCurve(points: [.init(bytes: 1_000, seconds: 3e-6)], fixed: .microseconds(1))
        #expect(one.time(bytes: 3_000) == .microseconds(7))  // the slope from the fixed cost
    }

    @Test func badCurvesAreRefused() {
        #expect(throws: SimulatorError.self) { try KernelCurve(points: []) }
        #expect(throws: SimulatorError.self) {
            try KernelCurve(points: [.init(bytes: 2, seconds: 1), .init(bytes: 1, seconds: 2)])
        }
        #expect(throws: SimulatorError.self) {
            try KernelCurve(points: [.init(bytes: 1, seconds: 2), .init(bytes: 2, seconds: 2)])
        }
        #expect(throws: SimulatorError.self) { try KernelCurve(points: [.init(bytes: 1, seconds: .nan)]) }
        #expect(throws: SimulatorError.self) {
            try KernelCurve(points: [.init(bytes: 1, seconds: 1e-6)], fixed: .microseconds(2))
        }
    }

    /// A cluster file's curve reaches flash-decode (its K/V bytes looked up on the curve) through
    /// `DecodeOptions(cluster:)`; the other kernels keep the roofline.
    @Test func aClusterFilesCurveTimesFlashDecode() throws {
        let curve = try Self.curve()
        let text = CPUClusterTests.file(
            gpu: CPUClusterTests.cpu, ranks: "cpu",
            extra: """
                overheads:
                  kernel_launch_us: 1
                  memory_efficiency: 0.5
                  decode_kernel:
                    - {kv_bytes: 1000, us: 3}
                    - {kv_bytes: 4000, us: 5}
                    - {kv_bytes: 16000, us: 17}
                """)
        let cluster = try ClusterFile.parse(text)
        #expect(cluster.overheads?.decodeKernel == curve)
        let options = DecodeOptions(cluster: cluster)
        let roof = try options.roofline(gpu: cluster.gpu)
        // 2 heads x (16 + 16) x 8 bytes = 512 bytes per token: 5 tokens = 2560 bytes, 4 us + 60/3000 x 2 us.
        let w = try DecodeWorkload(sequenceLength: 10, heads: 2, headDim: 16, dtype: "f64")
        #expect(roof.flashDecode(tokens: 5, w) == curve.time(bytes: 2560))
        #expect(roof.flashDecode(tokens: 0, w) == .zero)
        var plain = roof
        plain.decodeKernel = nil
        #expect(roof.merge(partials: 2, w) == plain.merge(partials: 2, w))
        #expect(plain.flashDecode(tokens: 5, w) != roof.flashDecode(tokens: 5, w))
        #expect(ClusterSummary(cluster).overheads?.contains("decode kernel measured at 3 sizes") == true)
    }

    @Test func badCurvesInClusterFilesAreOneLineErrors() {
        func bad(_ list: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(
                CPUClusterTests.file(
                    gpu: "H100-SXM5", extra: "overheads: {kernel_launch_us: 1, decode_kernel: \(list)}"),
                containing: text, sourceLocation: sourceLocation)
        }
        bad("[{kv_bytes: 10, us: 3}, {kv_bytes: 5, us: 4}]", "overheads: decode_kernel: invalid argument")
        bad("[{kv_bytes: 10}]", "decode_kernel[0] needs kv_bytes and us")
        bad("[{kv_bytes: 10, us: 3, keys: 2}]", "decode_kernel[0]: unknown key 'keys'")
        bad("[{kv_bytes: 10, us: 0.5}]", "fixed cost")
        bad("{kv_bytes: 10, us: 3}", "'decode_kernel' must be a list")
    }
}
