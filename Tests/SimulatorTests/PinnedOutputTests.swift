import Testing

@testable import Simulator

/// Exact simulated outputs pinned before the event-loop performance work: every picosecond, byte count and
/// recorded interval must stay bit-identical across internal optimisations. The fingerprint hashes every field of
/// the execution (makespan, per-rank finish, bytes per rank and link class, each transfer's start / transmitted /
/// delivered times and each activity interval, in recording order). If a deliberate modelling change moves these
/// numbers, re-pin them and say why in the commit.
@Suite("Pinned simulated outputs")
struct PinnedOutputTests {
    /// FNV-1a over 64-bit words.
    struct Fingerprint {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func add(_ word: UInt64) {
            var w = word
            for _ in 0..<8 {
                value = (value ^ (w & 0xff)) &* 0x0000_0100_0000_01b3
                w >>= 8
            }
        }
        mutating func add(_ x: Int) { add(UInt64(bitPattern: Int64(x))) }
        mutating func add(_ x: Double) { add(x.bitPattern) }
        mutating func add(_ t: SimTime) { add(UInt64(bitPattern: t.picoseconds)) }
        mutating func add(_ s: String) {
            for b in s.utf8 { add(UInt64(b)) }
            add(UInt64.max)
        }
    }

    static func fingerprint(_ r: ExecutionResult) -> UInt64 {
        var h = Fingerprint()
        h.add(r.makespan)
        h.add(r.events)
        h.add(r.messages)
        for t in r.rankFinish { h.add(t) }
        for b in r.bytesSent { h.add(b) }
        for c in r.bytesPerLinkClass {
            h.add(c.name)
            h.add(c.bytes)
        }
        for t in r.transfers {
            h.add(t.sourceRank)
            h.add(t.destinationRank)
            h.add(t.bytes)
            h.add(t.start)
            h.add(t.transmitted)
            h.add(t.delivered)
        }
        for a in r.activities {
            h.add(a.rank)
            h.add(a.kind.rawValue)
            h.add(a.label)
            h.add(a.start)
            h.add(a.end)
        }
        return h.value
    }

    struct CollectiveCase: Sendable, CustomStringConvertible {
        var cluster: String
        var algorithm: String
        var operation: CollectiveOperation = .allreduce
        var bytes: Double
        var pacing: ChannelPacing = .backToBack
        var gamma: Double = 0
        var segments: Int? = nil
        /// Pinned: makespan (ps), events, messages, fingerprint of the recorded execution.
        var picoseconds: Int64
        var events: Int
        var messages: Int
        var fingerprint: UInt64
        var description: String { "\(algorithm) \(operation) \(bytes) B on \(cluster)" }
    }

    static let collectiveCases: [CollectiveCase] = [
        // One ring crossing servers over the NICs, with a reduction cost (compute events on every step).
        CollectiveCase(
            cluster: "dgx-h100:4", algorithm: "ring", bytes: 1e9, gamma: 1e-12,
            picoseconds: 38_752_404_800, events: 4960, messages: 1984, fingerprint: 0x5ccd_c58a_0c07_d705),
        CollectiveCase(
            cluster: "dgx-h100:2", algorithm: "tree", bytes: 64e6, pacing: .afterDelivery,
            picoseconds: 2_677_115_523, events: 5690, messages: 1860, fingerprint: 0xdec4_1cd4_b823_5265),
        // Heavy contention: every transfer crosses the shared host links; two trees at once.
        CollectiveCase(
            cluster: "rtx4090-pcie:4", algorithm: "double-binary-tree", bytes: 16e6, segments: 5,
            picoseconds: 1_135_104_381, events: 319, messages: 60, fingerprint: 0x524d_4224_8224_fcf9),
        CollectiveCase(
            cluster: "mi300x:8", algorithm: "recursive-doubling", bytes: 8e6, gamma: 2e-12,
            picoseconds: 423_750_000, events: 72, messages: 24, fingerprint: 0x142c_9cd6_4cbb_f2a3),
        CollectiveCase(
            cluster: "mi300x:8", algorithm: "rabenseifner", operation: .reducescatter, bytes: 8e6,
            picoseconds: 110_125_000, events: 48, messages: 24, fingerprint: 0x0b6a_6968_7e48_e74d),
        CollectiveCase(
            cluster: "dgx-h100:4", algorithm: "hierarchical:ring", bytes: 32e6,
            picoseconds: 253_327_486, events: 1280, messages: 640, fingerprint: 0x132a_73a9_503e_2482),
        CollectiveCase(
            cluster: "rtx4090-pcie:6", algorithm: "binomial", operation: .broadcast, bytes: 3e6,
            picoseconds: 338_646_474, events: 10, messages: 5, fingerprint: 0xe2d9_6acc_569e_7fc8),
    ]

    @Test(arguments: collectiveCases)
    func collectiveOutputsArePinned(_ c: CollectiveCase) throws {
        let options = CollectiveOptions(reductionSecondsPerByte: c.gamma, segments: c.segments, pacing: c.pacing)
        let collective = try Collective(
            c.operation, algorithm: try CollectiveAlgorithm.parse(c.algorithm), bytes: c.bytes,
            options: options)
        let report = try collective.run(on: try Cluster.resolve(c.cluster), recording: true)
        let execution = try #require(report.execution)
        let fp = Self.fingerprint(execution)
        #expect(report.time.picoseconds == c.picoseconds)
        #expect(report.events == c.events)
        #expect(report.messages == c.messages)
        #expect(
            fp == c.fingerprint,
            "\(c): picoseconds: \(report.time.picoseconds), events: \(report.events), messages: \(report.messages), fingerprint: 0x\(String(fp, radix: 16))"
        )
        // Recording must not change the timing.
        let quiet = try collective.run(on: try Cluster.resolve(c.cluster), recording: false)
        #expect(quiet.time == report.time && quiet.events == report.events)
    }

    /// Decode comparison with every overhead switched on (per-message overhead exercises the delayed-injection path).
    @Test func decodeComparisonIsPinned() throws {
        let w = try DecodeWorkload(
            sequenceLength: 640_000, batch: 2, heads: 16, kvHeads: 4, headDim: 128, dtype: "bf16")
        var o = DecodeOptions()
        o.kernelLaunch = .microseconds(4)
        o.collectiveCall = .microseconds(10)
        o.perMessage = .microseconds(2)
        o.memoryEfficiency = 0.8
        o.collective.segmentBytes = 4096
        let model = try DecodeModel(cluster: try Cluster.resolve("dgx-h100:2"), workload: w, options: o)
        let strategies = try [
            "tree", "tree:ring", "tree:double-binary-tree", "ring", "ring-sequential", "pass-partials",
            "gather", "single",
        ].map(DecodeStrategy.parse)
        let reports = try model.compare(strategies)
        var lines: [String] = [], withoutMessageOverhead: [String] = []
        for r in reports {
            let execution = try #require(r.execution)
            func line(
                _ e: ExecutionResult, _ compute: SimTime, _ communication: SimTime, _ overhead: SimTime, _ idle: SimTime
            ) -> String {
                var h = Fingerprint()
                h.add(r.latency)
                h.add(compute)
                h.add(communication)
                h.add(overhead)
                h.add(idle)
                h.add(r.elementsSentPerDevice)
                h.add(r.speedupVsRing ?? -1)
                h.add(r.events)
                h.add(r.messages)
                h.add(Self.fingerprint(e))
                return "\(r.strategy) \(r.latency.picoseconds) 0x\(String(h.value, radix: 16))"
            }
            lines.append(line(execution, r.compute, r.communication, r.overhead, r.idle))
            // The same run without the per-message overhead intervals (recorded since the overhead counts as overhead
            // rather than idle), with the breakdown recomputed from what is left.
            var old = execution
            old.activities.removeAll { $0.destinationRank != nil }
            let b = ActivityBreakdown(old, ranks: execution.rankFinish.count)
            withoutMessageOverhead.append(
                line(old, .seconds(b.compute), .seconds(b.communication), .seconds(b.overhead), .seconds(b.idle)))
        }
        let expected = [
            "tree 179709783 0x97f86d4e3b326f2",
            "tree:ring 313861007 0xc925aa501ca840e2",
            "tree:double-binary-tree 175507823 0x8f90a109b8089bac",
            "ring 196705589306 0x7c15b9869e12a7db",
            "ring-sequential 209814789306 0xf47c9c58309a68bf",
            "pass-partials 159410508 0x5ae2acbad689d24f",
            "gather 76335966 0xc9cc9514729a7df7",
            "single 982158472 0x85193940cc7f40fa",
        ]
        #expect(lines == expected, "\(lines)")
        // The pins from before per-message overheads were recorded: every simulated time, transfer and other interval
        // is unchanged, only the new overhead intervals (and the overhead / idle split they move) differ.
        let beforeMessageOverheadIntervals = [
            "tree 179709783 0xe3cb519520b191ca",
            "tree:ring 313861007 0x7ec45aa467c7e945",
            "tree:double-binary-tree 175507823 0x73af830f2ac0fbec",
            "ring 196705589306 0xba5a78e5725d7d3f",
            "ring-sequential 209814789306 0x83fd00141046e9e2",
            "pass-partials 159410508 0xde0efcf7fc392196",
            "gather 76335966 0x80e190d7d70e4b11",
            "single 982158472 0x85193940cc7f40fa",
        ]
        #expect(withoutMessageOverhead == beforeMessageOverheadIntervals, "\(withoutMessageOverhead)")
    }
}
