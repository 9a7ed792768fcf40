import Foundation
import Simulator
import Testing

@testable import Studies

/// Issue 26, part 6: a study's grid split into parts (as `treeattn-mpi sweep|scale` splits it over ranks), its parts
/// encoded as JSON, decoded in any order and assembled, writes the same bytes as the study run in one piece.
@Suite struct StudyGridTests {
    /// A sweep with latency and memory steps, and reports whose notes, link classes, optional fields and non-round
    /// numbers must all survive the JSON.
    static func sweep() throws -> SweepConfiguration {
        var c = SweepConfiguration(
            cluster: "dgx-h100:2", sequenceLengths: [80_000, 1_280_000, 5_120_000], gpuCounts: [8, 16],
            strategies: [.tree(collective: .tree), .ring(overlap: true), .passQ, .gatherToOne])
        c.hiddenSizes = [2048, 4096]
        c.options.kernelLaunch = .microseconds(3.3)
        c.options.memoryEfficiency = 0.87
        return c
    }

    @Test(arguments: [1, 2, 3, 5, 9])
    func aSweepSplitIntoPartsWritesTheSameBytes(parts: Int) throws {
        let c = try Self.sweep()
        let whole = try Sweep.files(try Sweep.run(c))
        let grid = try SweepGrid(c)
        #expect(grid.stepCount == 2 * 3 + 2)
        let encoded = try (0..<parts).reversed().map { try grid.encode(grid.run(part: $0, of: parts)) }
        let split = try grid.files(try grid.assemble(encoded))
        #expect(split.map(\.name) == whole.map(\.name))
        for (a, b) in zip(split, whole) { #expect(a.contents == b.contents, "\(a.name)") }
    }

    /// Every step appears in exactly one part (round robin), and a missing or repeated step is refused.
    @Test func partsCoverEveryStepOnceAndAssemblyChecksIt() throws {
        let grid = try SweepGrid(try Self.sweep())
        let parts = 3
        let all = (0..<parts).flatMap { grid.steps(part: $0, of: parts) }.sorted()
        #expect(all == Array(0..<grid.stepCount))
        #expect(grid.steps(part: 1, of: parts) == [1, 4, 7])
        #expect(grid.steps(part: 9, of: parts).isEmpty)
        let first = try grid.encode(grid.run(part: 0, of: 2)), second = try grid.encode(grid.run(part: 1, of: 2))
        #expect(throws: StudyError.self) { try grid.assemble([first]) }
        #expect(throws: StudyError.self) { try grid.assemble([first, second, first]) }
        #expect(throws: (any Error).self) { try grid.assemble([first, "[{\"index\": 1}]"]) }
    }

    /// A decoded report equals the original in every rendered field (the sweep CSV has them all).
    @Test func reportsRoundTripThroughJSON() throws {
        let grid = try SweepGrid(try Self.sweep())
        let step = try grid.run(step: 0)
        let text = try grid.encode([StudyStep(index: 0, result: step)])
        let back = try JSONDecoder().decode([StudyStep<SweepGrid.Step>].self, from: Data(text.utf8)).map(\.result)
        for (a, b) in zip(step.points, back[0].points) {
            #expect(a.report.latency == b.report.latency && a.report.notes == b.report.notes)
            #expect(a.report.bytesPerLinkClass.map(\.bytes) == b.report.bytesPerLinkClass.map(\.bytes))
            #expect(a.report.speedupVsRing == b.report.speedupVsRing && a.workload == b.workload)
            #expect(a.strategy == b.strategy)
        }
    }

    /// The scale study split into parts writes the same scale.md, CSV and plots.
    @Test func aScaleStudySplitIntoPartsWritesTheSameBytes() throws {
        var c = ScaleStudy.Configuration()
        c.gpuCounts = [8, 64]
        c.sequenceLengths = [1_000_000, 10_000_000]
        let whole = try ScaleStudy.files(c, try ScaleStudy.run(c))
        let grid = try ScaleStudy.Grid(c)
        let encoded = try [1, 0].map { try grid.encode(grid.run(part: $0, of: 2)) }
        let split = try grid.files(try grid.assemble(encoded))
        #expect(split.map(\.name) == whole.map(\.name))
        for (a, b) in zip(split, whole) { #expect(a.contents == b.contents, "\(a.name)") }
    }
}
