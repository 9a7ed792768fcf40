import Foundation
import Testing
import Walkthrough

/// The numbers the explainer site shows beyond `explain`'s text (FlashAttention's block loop, the ring's folds, the
/// energy line, the chain rule, causal masking) against plain softmax loops over the example's own q, k, v; and the
/// site itself: its files, their determinism and what they may load.
@Suite struct ExplainerDataTests {
    /// Plain softmax over keys `range` of the example (the visible ones only): (max, sum, lse, output).
    static func softmax(_ w: Walkthrough, _ range: Range<Int>) -> (
        max: Double, sum: Double, lse: Double, output: [Double]
    ) {
        let d = w.settings.headDim
        let s = range.filter { $0 < w.visibleKeys }.map { j in
            (j, zip(w.query, w.keys[j]).reduce(0) { $0 + $1.0 * $1.1 } / Double(d).squareRoot())
        }
        guard let m = s.map(\.1).max() else { return (-.infinity, 0, -.infinity, [Double](repeating: 0, count: d)) }
        let total = s.reduce(0) { $0 + Foundation.exp($1.1 - m) }
        let output = (0..<d).map { c in s.reduce(0) { $0 + Foundation.exp($1.1 - m) * w.values[$1.0][c] } / total }
        return (m, total, m + Foundation.log(total), output)
    }

    static func close(_ a: Double, _ b: Double, _ tol: Double = 1e-13) -> Bool {
        a == b || abs(a - b) <= tol * max(1, abs(b))
    }
    static func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-13) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { close($0, $1, tol) }
    }

    static func walkthrough(
        tokens: Int, shards: Int, tree: String = "binary", causal: Int? = nil, block: Int = 2, owner: Int = 0,
        component: Int = 0, seed: UInt64 = 7
    ) throws -> Walkthrough {
        var s = Walkthrough.Settings()
        (s.tokens, s.shards, s.tree, s.blockSize, s.ringOwner, s.seed) = (tokens, shards, tree, block, owner, seed)
        (s.causal, s.queryPosition, s.energyComponent, s.backward) = (causal != nil, causal, component, true)
        return try Walkthrough(s)
    }

    static let cases: [(Int, Int, String, Int?, Int, Int)] = [
        (8, 4, "binary", nil, 2, 0), (13, 5, "kary:3", 6, 3, 2), (11, 6, "two-level:2", 2, 1, 5),
        (20, 16, "flat", nil, 4, 9), (5, 1, "binary", 0, 2, 0),
    ]

    @Test(arguments: cases)
    func blockLoopBuildsEachPrefixSoftmax(
        _ n: Int, _ p: Int, _ tree: String, _ causal: Int?, _ block: Int, _ owner: Int
    )
        throws
    {
        let w = try Self.walkthrough(tokens: n, shards: p, tree: tree, causal: causal, block: block, owner: owner)
        for shard in w.shards {
            let first = shard.keys[0]
            #expect(shard.blocks.count == (shard.keys[1] - first + block - 1) / block)
            for state in shard.blocks {
                // The running state after a block is the softmax of the shard's keys up to the block's end.
                let prefix = Self.softmax(w, first..<state.keys[1])
                #expect(
                    state.max == prefix.max && Self.close(state.sum, prefix.sum)
                        && Self.close(state.output, prefix.output))
            }
            if let last = shard.blocks.last {
                #expect(
                    last.max == shard.max && Self.close(last.sum, shard.sum) && Self.close(last.output, shard.output))
                #expect(last.max == -.infinity || Self.close(last.max + Foundation.log(last.sum), shard.lse))
            }
        }
    }

    @Test(arguments: cases)
    func ringFoldsAndTheChainRuleGiveExactAttention(
        _ n: Int, _ p: Int, _ tree: String, _ causal: Int?, _ block: Int, _ owner: Int
    ) throws {
        let w = try Self.walkthrough(tokens: n, shards: p, tree: tree, causal: causal, block: block, owner: owner)
        let exact = Self.softmax(w, 0..<n)
        #expect(Self.close(w.output, exact.output) && Self.close(w.lse, exact.lse))
        // The ring visits owner, owner-1, ...: after each fold, the softmax over the shards visited so far.
        #expect(w.ring.map(\.shard) == (0..<p).map { ((owner - $0) % p + p) % p })
        var seen: [Int] = []
        for step in w.ring {
            seen += Array(w.shards[step.shard].keys[0]..<w.shards[step.shard].keys[1])
            let part = seen.filter { $0 < w.visibleKeys }
            if part.isEmpty {
                #expect(step.lse == -.infinity)
                continue
            }
            let scores = part.map { w.scores[$0] }
            let m = scores.max()!
            let total = scores.reduce(0) { $0 + Foundation.exp($1 - m) }
            #expect(Self.close(step.lse, m + Foundation.log(total)))
            let o = (0..<w.settings.headDim).map { c in
                part.reduce(0) { $0 + Foundation.exp(w.scores[$1] - m) * w.values[$1][c] } / total
            }
            #expect(Self.close(step.output, o))
        }
        #expect(w.ringError < 1e-13)
        // The chain rule: weights exp(F_i - F) sum to 1 and weigh the shards' outputs into o.
        #expect(Self.close(w.shards.reduce(0) { $0 + $1.weight }, 1))
        #expect(Self.close(w.chainRuleOutput, exact.output))
        for shard in w.shards {
            #expect(shard.energy == shard.lse || Self.close(shard.energy, shard.lse))
        }
        // Each merge's output from its children's outputs and weights.
        for m in w.merges {
            let total = m.weights.reduce(0, +)
            let o = (0..<w.settings.headDim).map { c in
                zip(m.weights, m.childOutputs).reduce(0) { $0 + $1.0 * $1.1[c] } / max(total, .leastNonzeroMagnitude)
            }
            #expect(total == 0 || Self.close(m.output, o))
        }
        #expect(Self.close(w.treeOutput, exact.output) && w.treeError < 1e-13)
    }

    @Test func causalQueriesMaskTheLaterKeys() throws {
        let w = try Self.walkthrough(tokens: 12, shards: 6, causal: 4)
        #expect(w.visibleKeys == 5)
        #expect(w.scores[5...].allSatisfy { $0 == -.infinity } && w.scores[..<5].allSatisfy(\.isFinite))
        #expect(w.probabilities[5...].allSatisfy { $0 == 0 } && Self.close(w.probabilities.reduce(0, +), 1))
        // Shards 3, 4 and 5 hold keys 6...11: empty partials with weight 0, merged away exactly.
        #expect(w.shards[3...].allSatisfy { $0.lse == -.infinity && $0.weight == 0 && $0.sum == 0 })
        #expect(w.merges.contains { $0.weights.contains(0) })
        #expect(Self.close(w.treeOutput, Self.softmax(w, 0..<12).output))
        let b = try #require(w.backward)
        #expect(b.perKey[5...].allSatisfy { $0.p == 0 && $0.dk.allSatisfy { $0 == 0 } && $0.dv.allSatisfy { $0 == 0 } })
    }

    @Test func energyLineAndValueGradients() throws {
        let w = try Self.walkthrough(tokens: 9, shards: 3, component: 2)
        #expect(w.energyLine.component == 2 && w.energyLine.t.count == 17)
        for (t, f) in zip(w.energyLine.t, w.energyLine.energy) {
            let terms = (0..<9).map { w.scores[$0] + t * w.values[$0][2] }
            let m = terms.max()!
            #expect(Self.close(f, m + Foundation.log(terms.reduce(0) { $0 + Foundation.exp($1 - m) })))
        }
        let b = try #require(w.backward)
        for (j, key) in b.perKey.enumerated() {
            #expect(Self.close(key.dv, b.dO.map { key.p * $0 }))
            #expect(Self.close(key.p, w.probabilities[j]))
        }
    }

    @Test func newSettingsOutsideTheirRangesAreRefused() {
        for change in [
            { (s: inout Walkthrough.Settings) in (s.causal, s.queryPosition) = (true, 8) },
            { (s: inout Walkthrough.Settings) in s.blockSize = 0 },
            { (s: inout Walkthrough.Settings) in s.ringOwner = 4 },
            { (s: inout Walkthrough.Settings) in s.energyComponent = 4 },
        ] {
            var s = Walkthrough.Settings()
            change(&s)
            #expect(throws: (any Error).self) { try Walkthrough(s) }
        }
    }

    /// Typed values replace the seeded ones (and agree with plain loops); bad shapes, sizes and files are refused.
    @Test func typedValuesReplaceTheSeededOnes() throws {
        var s = Walkthrough.Settings()
        let values = Walkthrough.Values(q: [0.5, -1], k: [[1, 0], [0, 1], [1, 1]], v: [[1, 2], [3, 4], [5, 6]])
        (s.values, s.tokens, s.headDim, s.shards) = (values, 3, 2, 2)
        let w = try Walkthrough(s)
        #expect(w.query == values.q && w.keys == values.k && w.values == values.v)
        #expect(Self.close(w.output, Self.softmax(w, 0..<3).output) && w.text.contains("typed values"))
        for bad in [
            Walkthrough.Values(q: [1, 2], k: [[1, 0]], v: [[1, 2], [3, 4]]),
            Walkthrough.Values(q: [1, .nan], k: [[1, 0]], v: [[1, 2]]),
            Walkthrough.Values(q: [1, 2e3], k: [[1, 0]], v: [[1, 2]]),
            Walkthrough.Values(q: [1, 2], k: [[1, 0, 3]], v: [[1, 2]]),
        ] {
            #expect(throws: (any Error).self) { try bad.validate() }
        }
        (s.tokens, s.headDim) = (4, 2)
        #expect(throws: (any Error).self) { try Walkthrough(s) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("values-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("{\"q\": [1], \"k\": [[2]], \"v\": [[3]]}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try Walkthrough.Values.load(path: path) == Walkthrough.Values(q: [1], k: [[2]], v: [[3]]))
        try Data("{\"q\": [1]".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try Walkthrough.Values.load(path: path) }
        try Data(count: Walkthrough.Values.maxFileBytes + 1).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try Walkthrough.Values.load(path: path) }
        #expect(throws: (any Error).self) { try Walkthrough.Values.load(path: path + ".missing") }
    }

    static let smallGrid: ClusterTimelines.Grid = {
        var g = ClusterTimelines.Grid()
        (g.presets, g.gpus, g.sequenceLengths) = (["dgx-h100"], [8, 16], [10_000])
        return g
    }()

    @Test func theSiteIsDeterministicAndLoadsNothingFromOutside() throws {
        let settings = Walkthrough.Settings()
        let a = try ExplainerSite(settings: settings, grid: Self.smallGrid).files()
        let b = try ExplainerSite(settings: settings, grid: Self.smallGrid).files()
        #expect(a.map(\.name) == ["index.html", "explainer.css", "explainer.js", "data.js"])
        #expect(zip(a, b).allSatisfy { $0.bytes == $1.bytes })
        let text = Dictionary(uniqueKeysWithValues: a.map { ($0.name, String(decoding: $0.bytes, as: UTF8.self)) })
        let page = try #require(text["index.html"]), script = try #require(text["explainer.js"])
        #expect(page.contains("Content-Security-Policy\" content=\"default-src 'none'"))
        // Only the site's own files are referenced; the script asks for nothing over a network.
        for source in page.matches(of: #/(?:src|href)="([^"#]+)"/#).map({ String($0.output.1) }) {
            #expect(["explainer.css", "data.js", "explainer.js", "data:,"].contains(source), "\(source)")
        }
        for call in ["fetch(", "XMLHttpRequest", "import(", "WebSocket", "https://", "sendBeacon"] {
            #expect(!script.contains(call), "\(call)")
        }
        // data.js embeds the reference walkthrough (with the backward) and the grid.
        let data = try #require(text["data.js"])
        let start = try #require(data.range(of: "window.TREEATTN_DATA = "))
        let json =
            try JSONSerialization.jsonObject(
                with: Data(data[start.upperBound...].dropLast(2).utf8)) as? [String: Any]
        let reference = try #require(json?["reference"] as? [String: Any])
        #expect(reference["backward"] is [String: Any])
        let clusters = try #require(json?["clusters"] as? [String: Any])
        #expect((clusters["cases"] as? [Any])?.count == 2)
    }

    @Test func theGridsTimelinesTileEachStep() throws {
        let grid = try ClusterTimelines(grid: Self.smallGrid)
        for c in grid.cases {
            #expect(c.runs.map(\.strategy) == ["tree", "ring"] && c.cluster == "dgx-h100:\(c.gpus / 8)")
            for run in c.runs {
                #expect(run.timelines.count == c.gpus)
                #expect(run.timelines.allSatisfy { $0.last == run.latency && $0.count % 2 == 0 })
                let mean = run.activity.reduce(0, +)
                #expect(abs(mean - Double(run.latency)) <= 1e-9 * Double(run.latency))
            }
        }
    }

    @Test func theSiteIsWrittenWhole() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("explainer-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let site = try ExplainerSite(settings: Walkthrough.Settings(), grid: Self.smallGrid)
        try site.write(to: root + "/site")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root + "/site").sorted()
                == ["data.js", "explainer.css", "explainer.js", "index.html"])
        // A non-empty folder is refused before anything is written, and nothing is left beside it.
        #expect(throws: (any Error).self) { try site.write(to: root + "/site") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["site"])
        var sink = Walkthrough.Settings()
        sink.sink = 1
        #expect(throws: (any Error).self) { try ExplainerSite(settings: sink, grid: Self.smallGrid) }
    }
}
