import Foundation
import Testing
import Walkthrough

/// The learner's walkthrough as data: every number it shows is checked against an independent formulation written
/// here (plain loops over the example's own q, k, v), without running the command.
@Suite struct WalkthroughTests {
    /// Softmax attention of one query in plain loops: (max, sum of exp, LSE, output).
    static func attention(_ w: Walkthrough) -> (max: Double, sum: Double, lse: Double, output: [Double]) {
        let s = w.keys.map { k in
            zip(w.query, k).reduce(0) { $0 + $1.0 * $1.1 } / Double(w.settings.headDim).squareRoot()
        }
        let m = s.max()!
        let e = s.map { Foundation.exp($0 - m) }
        let total = e.reduce(0, +)
        let output = (0..<w.settings.headDim).map { c in zip(e, w.values).reduce(0) { $0 + $1.0 * $1.1[c] } / total }
        return (m, total, m + Foundation.log(total), output)
    }

    static func maxDifference(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    /// `explain --sinks`: the sink's numbers from plain loops over the scores with one more term, z, of value 0.
    @Test(arguments: [(8, 4, 1.0), (13, 5, -3.0), (5, 1, 6.0)])
    func sinkStepAgreesWithPlainLoops(_ tokens: Int, _ shards: Int, _ z: Double) throws {
        var settings = Walkthrough.Settings()
        (settings.tokens, settings.shards, settings.sink) = (tokens, shards, z)
        let w = try Walkthrough(settings)
        let k = try #require(w.sink)
        let s = w.scores + [z]
        let m = s.max()!
        let total = s.reduce(0) { $0 + Foundation.exp($1 - m) }
        let lse = m + Foundation.log(total)
        let output = (0..<settings.headDim).map { c in
            zip(w.scores, w.values).reduce(0) { $0 + Foundation.exp($1.0 - m) * $1.1[c] } / total
        }
        #expect(abs(k.lseWith - lse) < 1e-13 && abs(k.energy - lse) < 1e-13)
        #expect(abs(k.sinkWeight - Foundation.exp(z - m) / total) < 1e-14)
        #expect(Self.maxDifference(k.output, output) < 1e-14 && Self.maxDifference(k.scaledOutput, output) < 1e-14)
        #expect(Self.maxDifference(k.treeOutput, output) < 1e-14 && k.treeError < 1e-14)
        // Counted once per shard, the sink is wrong as soon as there is more than one shard.
        #expect(shards == 1 ? k.countedPerShardError < 1e-14 : k.countedPerShardError > 1e-4)
        #expect(try w.json().contains("\"counted_per_shard_error\""))
        #expect(w.text.contains("6b. A sink"))
        settings.sink = nil
        let plain = try Walkthrough(settings)
        let plainJSON = try plain.json()
        #expect(plain.sink == nil && !plainJSON.contains("counted_per_shard_error"))
    }

    @Test(arguments: [(8, 4, "binary"), (13, 5, "kary:3"), (9, 16, "two-level:4"), (1, 3, "flat")])
    func everyStepAgreesWithPlainLoops(_ tokens: Int, _ shards: Int, _ tree: String) throws {
        var settings = Walkthrough.Settings()
        (settings.tokens, settings.shards, settings.tree, settings.backward) = (tokens, shards, tree, true)
        let w = try Walkthrough(settings)
        let (m, sum, lse, output) = Self.attention(w)
        #expect(w.scores.count == tokens && w.shards.count == shards)
        #expect(abs(w.maxScore - m) < 1e-14 && abs(w.expSum - sum) < 1e-13 && abs(w.lse - lse) < 1e-13)
        #expect(Self.maxDifference(w.output, output) < 1e-14)
        // The energy view: F(0) is the LSE, its gradient the output, its central differences agree to O(h^2).
        #expect(abs(w.energy - lse) < 1e-13)
        #expect(Self.maxDifference(w.gradient, output) < 1e-13)
        #expect(Self.maxDifference(w.centralDifference, output) < 1e-8)
        #expect(abs(w.shardEnergyLogSumExp - lse) < 1e-13)
        // Shards cover the keys in order; empty ones are the merge identity.
        #expect(w.shards.first?.keys[0] == 0 && w.shards.last?.keys[1] == tokens)
        for shard in w.shards where shard.keys[0] == shard.keys[1] {
            #expect(shard.lse == -.infinity && shard.sum == 0)
        }
        // Each merge: lse = m + log(sum of its weights), the weights exp(l_i - m) of its children.
        for merge in w.merges {
            guard merge.max > -.infinity else {
                // Merging empty partials gives the empty partial (-inf), never NaN.
                #expect(merge.lse == -.infinity && merge.weights.allSatisfy { $0 == 0 })
                continue
            }
            #expect(abs(merge.lse - (merge.max + Foundation.log(merge.weights.reduce(0, +)))) < 1e-13)
            #expect(merge.childLogSumExp.map { $0 == -.infinity ? 0 : Foundation.exp($0 - merge.max) } == merge.weights)
        }
        #expect(abs((w.nodeLogSumExp.last?.first ?? .nan) - lse) < 1e-13)
        #expect(w.treeError < 1e-13 && w.algorithm3Error < 1e-13)
        #expect(Self.maxDifference(w.treeOutput, output) < 1e-13)
        let b = try #require(w.backward)
        // dq = sum_j dS_j k_j / sqrt(d), dS_j = p_j (dO.v_j - D), D = dO . o.
        let delta = zip(b.dO, output).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(b.delta - delta) < 1e-13)
        let scale = 1 / Double(settings.headDim).squareRoot()
        let dq = (0..<settings.headDim).map { c in zip(b.perKey, w.keys).reduce(0) { $0 + $1.0.dS * $1.1[c] } * scale }
        #expect(Self.maxDifference(b.dq, dq) < 1e-13)
        for (j, key) in b.perKey.enumerated() {
            #expect(Self.maxDifference(key.dk, w.query.map { key.dS * $0 * scale }) < 1e-13, "key \(j)")
        }
        #expect(
            Self.maxDifference(
                b.shardShares.indices.reduce(into: [Double](repeating: 0, count: settings.headDim)) { acc, i in
                    for c in acc.indices { acc[c] += b.shardShares[i][c] }
                }, b.dq) < 1e-13)
        #expect(b.energyError < 1e-12 && b.treeError < 1e-12)
        #expect(w.costs.map(\.strategy) == ["tree", "ring"] && w.costs.allSatisfy { $0.backwardLatency != nil })
    }

    /// `explain --json`: the same data, read back by a JSON parser (infinities as strings), and the text's numbers.
    @Test func jsonAndTextCarryTheSameNumbers() throws {
        var settings = Walkthrough.Settings()
        settings.shards = 9  // more shards than the 8 keys: one empty shard with lse -inf
        let w = try Walkthrough(settings)
        let json = try w.json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["schema_version"] as? Int == Walkthrough.schemaVersion)
        // Every number survives the trip exactly: decoded (JSONDecoder parses shortest round-trip text exactly) and
        // encoded again, the text is the same.
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let back = try decoder.decode(Walkthrough.self, from: Data(json.utf8))
        #expect(back.scores == w.scores && back.output == w.output)
        #expect(try back.json() == json)
        let shards = try #require(object["shards"] as? [[String: Any]])
        #expect(shards.last?["lse"] as? String == "-inf")
        #expect((object["settings"] as? [String: Any])?["tokens"] as? Int == 8)
        #expect(w.text.contains(String(format: "%.4f", w.lse)))
        #expect(w.text.contains("   L1.0: m = "))
        #expect(w.text.hasPrefix("1. One decoding query q and 8 cached keys/values (head dim 4, seed 7)."))
    }

    @Test func settingsOutsideATinyExampleAreRefused() {
        for change in [
            { (s: inout Walkthrough.Settings) in s.tokens = 65 }, { $0.shards = 0 }, { $0.headDim = 17 },
            { $0.tree = "star" },
        ] {
            var s = Walkthrough.Settings()
            change(&s)
            #expect(throws: (any Error).self) { try Walkthrough(s) }
        }
    }

    /// The tour checks itself: every reduction within rounding of exact attention, and the golden case passes.
    @Test func theTourRunsAndEveryCheckHolds() throws {
        var tour = Tour()
        (tour.keys, tour.shards) = (256, 4)
        var lines: [String] = []
        try tour.run { lines.append($0) }
        let errors = lines.filter { $0.contains("max |O - O_exact| = ") }.compactMap {
            Double($0.components(separatedBy: "= ").last!)
        }
        #expect(errors.count == 4 && errors.allSatisfy { $0 < 1e-12 })
        #expect(lines.contains { $0.hasPrefix("  check demo-decode") && $0.contains(" out: ") && $0.hasSuffix("PASS") })
        #expect(!lines.contains { $0.contains("FAIL") })
        tour.shards = 65
        #expect(throws: (any Error).self) { try tour.run { _ in } }
    }
}
