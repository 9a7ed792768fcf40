import Foundation
import Simulator
import Testing

@testable import Studies

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Collects XML parse errors and element names.
final class XMLCheck: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var error: Error?
    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append(name)
    }
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    static func parse(_ text: String) -> XMLCheck {
        let check = XMLCheck()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = check
        if !parser.parse() && check.error == nil { check.error = parser.parserError ?? NSError(domain: "xml", code: 1) }
        return check
    }
}

@Suite("Sweep: CSV, SVG, axes")
struct SweepTests {
    func smallSweep() throws -> SweepResult {
        var c = SweepConfiguration(
            cluster: "dgx-h100:2", sequenceLengths: [80_000, 160_000], gpuCounts: [8, 16],
            strategies: [.tree(collective: .tree), .ring(overlap: true)])
        c.hiddenSizes = [2048, 4096]
        return try Sweep.run(c)
    }

    @Test func csvHasOneRowPerPointWithEveryColumn() throws {
        let r = try smallSweep()
        let text = Sweep.pointsCSV(r).render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 1 + 2 * 2 * 2)
        let header = parseCSVLine(lines[0])
        #expect(Array(header.prefix(Sweep.pointColumns.count)) == Sweep.pointColumns)
        #expect(header.contains("bytes_nvlink"))
        for line in lines.dropFirst() { #expect(parseCSVLine(line).count == header.count) }
        let rows = lines.dropFirst().map(parseCSVLine)
        let col = { (name: String) in header.firstIndex(of: name)! }
        // Every (gpus, seq_len, strategy) appears once.
        let keys = Set(rows.map { "\($0[col("gpus")])/\($0[col("seq_len")])/\($0[col("strategy")])" })
        #expect(keys.count == 8)
        // Ring's speedup over itself is 1; the paper's V_tree for p = 8, d = 2048, n_h = 16 is 3640.
        for row in rows where row[col("strategy")] == "ring" { #expect(row[col("speedup_vs_ring")] == "1") }
        let tree8 = rows.first { $0[col("strategy")] == "tree" && $0[col("gpus")] == "8" }!
        #expect(tree8[col("paper_volume_elements")] == "3640")
        // The row holds the decode model's own latency for that point (shortest round-trip text of its seconds).
        let cluster8 = try Cluster.resolve("dgx-h100:2").prefix(8)
        let model8 = try DecodeModel(
            cluster: cluster8,
            workload: try DecodeWorkload(
                sequenceLength: Int(tree8[col("seq_len")])!,
                heads: 16, headDim: 128))
        #expect(
            tree8[col("latency_s")]
                == CSVTable.number(try model8.run(.tree(collective: .tree), recording: false).latency.seconds))
        // Memory CSV: 2 hidden sizes x 2 strategies.
        let memory = Sweep.memoryCSV(r).render().split(separator: "\n")
        #expect(memory.count == 1 + 4)
        #expect(parseCSVLine(String(memory[0])) == Sweep.memoryColumns)
    }

    @Test func svgIsWellFormedAndDeterministic() throws {
        let a = try Sweep.files(try smallSweep())
        let b = try Sweep.files(try smallSweep())
        #expect(a.map(\.name) == ["sweep.csv", "latency.svg", "speedup.svg", "memory.csv", "memory.svg"])
        for (x, y) in zip(a, b) { #expect(x.contents == y.contents, "\(x.name) differs between runs") }
        for f in a where f.name.hasSuffix(".svg") {
            let check = XMLCheck.parse(f.contents)
            #expect(check.error == nil, "\(f.name): \(String(describing: check.error))")
            #expect(check.elements.first == "svg")
            #expect(check.elements.contains("polyline"))
            #expect(check.elements.contains("text"))
        }
        let latency = a.first { $0.name == "latency.svg" }!.contents
        #expect(latency.contains("tree (8 GPUs)") && latency.contains("ring (16 GPUs)"))
        #expect(latency.contains("(log scale)"))
        #expect(latency.contains("latency per decode step (s)"))
    }

    @Test func svgEscapesText() throws {
        let plot = try LinePlot(
            title: "a < b & \"c\"", xLabel: "x", xScale: .linear, yLabel: "y", yScale: .linear,
            series: [PlotSeries(name: "<s>", points: [(1, 1), (2, 3)], colour: 0)])
        let svg = plot.render()
        #expect(XMLCheck.parse(svg).error == nil)
        #expect(svg.contains("a &lt; b &amp; &quot;c&quot;"))
    }

    @Test func logPlotDropsNonPositivePoints() throws {
        let plot = try LinePlot(
            title: "t", xLabel: "x", xScale: .log, yLabel: "y", yScale: .log,
            series: [PlotSeries(name: "s", points: [(0, 1), (10, 5), (100, -1), (1000, 50)], colour: 0)])
        #expect(plot.skippedPoints == 2)
        #expect(plot.series[0].points.count == 2)
        #expect(throws: StudyError.self) {
            try LinePlot(
                title: "t", xLabel: "x", xScale: .log, yLabel: "y", yScale: .log,
                series: [PlotSeries(name: "s", points: [(0, 1)], colour: 0)])
        }
    }

    @Test func logTicksAreDecades() {
        #expect(PlotAxis.logTicks(80_000, 5_120_000) == [1e4, 1e5, 1e6, 1e7])
        #expect(PlotAxis.logTicks(1e-5, 1) == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1])
        // Exact powers of ten are not rounded out by log10 error (log10(1000) is 2.9999999999999996).
        #expect(PlotAxis.logTicks(1000, 1e6) == [1e3, 1e4, 1e5, 1e6])
        // Within one decade: 2x and 5x are added so there are enough ticks.
        #expect(PlotAxis.logTicks(3, 7) == [1, 2, 5, 10])
        #expect(PlotAxis.logTicks(5, 5) == [1, 2, 5, 10])
    }

    @Test func logAxisPositions() throws {
        let axis = try PlotAxis(label: "x", scale: .log, values: [10, 1000])
        #expect(axis.lower == 10 && axis.upper == 1000)
        #expect(close(axis.fraction(100), 0.5, tolerance: 1e-12))
        #expect(close(axis.fraction(1000), 1, tolerance: 1e-12))
        let explicit = try PlotAxis(label: "gpus", scale: .log, values: [8, 128], explicitTicks: [8, 64, 128])
        #expect(explicit.ticks == [8, 64, 128])
        #expect(explicit.fraction(8) == 0 && close(explicit.fraction(128), 1, tolerance: 1e-12))
    }

    @Test func linearTicksAreNice() {
        #expect(PlotAxis.linearTicks(0, 10) == [0, 2, 4, 6, 8, 10])
        #expect(PlotAxis.linearTicks(0.3, 0.95) == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        #expect(PlotAxis.linearTicks(524, 1048) == [500, 600, 700, 800, 900, 1000, 1100])
        #expect(PlotAxis.linearTicks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    }

    @Test func tickLabels() {
        #expect(PlotAxis.formatTick(80_000, .si) == "80k")
        #expect(PlotAxis.formatTick(5_120_000, .si) == "5.12M")
        #expect(PlotAxis.formatTick(1e-5, .plain) == "1e-5")
        #expect(PlotAxis.formatTick(0.01, .plain) == "0.01")
        #expect(PlotAxis.formatTick(1e7, .plain) == "1e7")
        #expect(PlotAxis.formatTick(2.5e-4, .plain) == "2.5e-4")
        #expect(PlotAxis.formatTick(128, .plain) == "128")
    }

    @Test func badSweepsAreRejected() {
        func config(_ n: [Int], _ p: [Int], _ s: [DecodeStrategy] = [.ring(overlap: true)], hidden: [Int] = [])
            -> SweepConfiguration
        {
            var c = SweepConfiguration(cluster: "dgx-h100:1", sequenceLengths: n, gpuCounts: p, strategies: s)
            c.hiddenSizes = hidden
            return c
        }
        #expect(throws: StudyError.self) { try Sweep.run(config([], [8])) }
        #expect(throws: StudyError.self) { try Sweep.run(config([1000], [])) }
        #expect(throws: StudyError.self) { try Sweep.run(config([1000, 1000], [8])) }
        #expect(throws: StudyError.self) { try Sweep.run(config([1000], [0])) }
        #expect(throws: StudyError.self) { try Sweep.run(config([1000], [16])) }  // more GPUs than the cluster
        #expect(throws: StudyError.self) { try Sweep.run(config([4], [8])) }  // fewer tokens than GPUs
        #expect(throws: StudyError.self) { try Sweep.run(config([1000], [8], [])) }
        // Not a multiple of 128.
        #expect(throws: StudyError.self) { try Sweep.run(config([1000], [8], hidden: [2000])) }
        var bad = config([1000], [8])
        bad.cluster = "no-such-preset"
        #expect(throws: SimulatorError.self) { try Sweep.run(bad) }  // the simulator's own error, passed on
    }

    /// `single` runs on one GPU whatever the sweep's GPU count: its rows, series and speedup points must still be
    /// keyed by the sweep's p (regression: they were keyed by the report's `gpus` = 1, so latency.svg had empty
    /// series, speedup.svg stacked every p at x = 1, sweep.csv could not tell the rows apart, and a sweep of
    /// `single` alone failed with "no drawable points").
    @Test func singleStrategyIsKeyedBySweepGPUCount() throws {
        let c = SweepConfiguration(
            cluster: "mi300x:8", sequenceLengths: [4000, 8000], gpuCounts: [2, 4],
            strategies: [.tree(collective: .tree), .singleGPU])
        let r = try Sweep.run(c)
        // Latency plot: every series has one point per sequence length.
        let latency = try Sweep.latencyPlot(r)
        for s in latency.series { #expect(s.points.count == 2, "\(s.name) has \(s.points.count) points") }
        // Speedup plot: single's points sit at the sweep's GPU counts.
        let speedup = try Sweep.speedupPlot(r)
        for s in speedup.series { #expect(s.points.map(\.x) == [2, 4], "\(s.name): \(s.points.map(\.x))") }

        // CSV: `gpus` stays the GPUs the strategy used, `sweep_gpus` is the sweep's p.
        let lines = Sweep.pointsCSV(r).render().split(separator: "\n").map(String.init)
        let header = parseCSVLine(lines[0])
        #expect(Array(header.prefix(Sweep.pointColumns.count)) == Sweep.pointColumns)
        let rows = lines.dropFirst().map(parseCSVLine)
        let gpus = try #require(header.firstIndex(of: "gpus"))
        let sweepGPUs = try #require(header.firstIndex(of: "sweep_gpus"))
        let seq = try #require(header.firstIndex(of: "seq_len")),
            strategy = try #require(header.firstIndex(of: "strategy"))
        #expect(Set(rows.map { "\($0[sweepGPUs])/\($0[seq])/\($0[strategy])" }).count == rows.count)
        let single = rows.filter { $0[strategy] == "single" }
        #expect(single.map { $0[gpus] } == ["1", "1", "1", "1"])
        #expect(single.map { $0[sweepGPUs] } == ["2", "2", "4", "4"])
        #expect(
            rows.filter { $0[strategy] == "tree" }.map { $0[sweepGPUs] }
                == rows.filter { $0[strategy] == "tree" }.map { $0[gpus] })
    }

    /// `single` alone: every plot is drawable (it failed with "no drawable points").
    @Test func singleStrategyAloneIsPlottable() throws {
        let c = SweepConfiguration(
            cluster: "mi300x:8", sequenceLengths: [4000, 8000], gpuCounts: [2, 4], strategies: [.singleGPU])
        let alone = try Sweep.files(try Sweep.run(c))
        #expect(alone.map(\.name) == ["sweep.csv", "latency.svg", "speedup.svg"])
        #expect(alone.map(\.name) == Sweep.fileNames(c))
        var withMemory = c
        withMemory.hiddenSizes = [2048]
        #expect(try Sweep.files(try Sweep.run(withMemory)).map(\.name) == Sweep.fileNames(withMemory))
        let svg = try #require(alone.first { $0.name == "latency.svg" }).contents
        #expect(XMLCheck.parse(svg).error == nil)
        #expect(svg.contains("single (2 GPUs)") && svg.contains("single (4 GPUs)"))
    }

    @Test func progressReachesTotal() throws {
        var c = SweepConfiguration(
            cluster: "mi300x:4", sequenceLengths: [1000, 2000], gpuCounts: [2, 4],
            strategies: [.tree(collective: .tree)])
        c.hiddenSizes = [2048]
        var calls: [(Int, Int)] = []
        _ = try Sweep.run(c) { done, total, _ in calls.append((done, total)) }
        #expect(calls.map(\.0) == [1, 2, 3, 4, 5])
        #expect(calls.allSatisfy { $0.1 == c.totalSteps })
    }
}
