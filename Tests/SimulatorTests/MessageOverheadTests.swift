import Foundation
import Testing

@testable import Simulator

/// The per-message software overhead (`Executor.messageOverhead`, `--per-message-us`) is a fixed overhead: it is
/// recorded as an overhead interval on the sending rank, so the breakdown reports it as overhead (not idle) and the
/// trace shows it. Recording it must not move any simulated time.
@Suite("Per-message overhead")
struct MessageOverheadTests {
    /// Rank 0 sends two 1 MB messages (100 us each at 10 GB/s, 1 us latency) to rank 1 with a 100 us overhead each.
    func twoMessages(recording: Bool = true) throws -> ExecutionResult {
        let cluster = try fullyConnected(2, bandwidth: 10e9, latency: .microseconds(1))
        let execution = Execution(recording: recording, messageOverhead: .microseconds(100))
        let r0: [RankOperation] = [.send(to: 1, bytes: 1e6, tag: 0), .send(to: 1, bytes: 1e6, tag: 1)]
        let r1: [RankOperation] = [.recv(from: 0, tag: 0), .recv(from: 0, tag: 1)]
        return try execution.run([ListProgram(singleLane: [r0, r1])], on: cluster)
    }

    @Test func overheadIsRecordedOnTheSender() throws {
        let result = try twoMessages()
        // Timing unchanged: overhead 0-100, send 100-200, overhead 200-300 (channel held), send 300-400, +1 us latency.
        #expect(result.makespan == .microseconds(401))
        #expect(result.rankFinish[1] == .microseconds(401))
        #expect(result.transfers.map(\.start) == [.microseconds(100), .microseconds(300)])
        let overheads = result.activities.filter { $0.kind == .overhead }
        #expect(overheads.map(\.rank) == [0, 0])
        #expect(overheads.map(\.start) == [.zero, .microseconds(200)])
        #expect(overheads.map(\.end) == [.microseconds(100), .microseconds(300)])
        // Recording does not change the timing.
        let quiet = try twoMessages(recording: false)
        #expect(
            quiet.makespan == result.makespan && quiet.rankFinish == result.rankFinish && quiet.events == result.events)
        #expect(quiet.activities.isEmpty)
    }

    @Test func breakdownCountsItAsOverheadNotIdle() throws {
        let b = ActivityBreakdown(try twoMessages(), ranks: 2)
        // Rank 0: 200 us overhead, 200 us sending, 1 us idle. Rank 1: 202 us receiving, 199 us idle. Averaged.
        #expect(close(b.overhead, 100e-6))
        #expect(close(b.communication, 201e-6))
        #expect(close(b.idle, 100e-6))
        #expect(b.compute == 0)
        #expect(close(b.compute + b.communication + b.overhead + b.idle, 401e-6))
    }

    /// The reviewer's repro: `simulate decode --cluster mi300x:2 --seq-len 1000 --heads 8 --head-dim 64
    /// --strategy tree:ring --per-message-us 100` reported overhead 0 and idle 0.0006 s.
    @Test func decodeReportsPerMessageOverhead() throws {
        let w = try DecodeWorkload(sequenceLength: 1000, heads: 8, headDim: 64)
        var o = DecodeOptions()
        o.perMessage = .microseconds(100)
        let model = try DecodeModel(cluster: try Cluster.resolve("mi300x:2"), workload: w, options: o)
        let r = try model.run(.tree(collective: .ring))
        let base = try DecodeModel(cluster: try Cluster.resolve("mi300x:2"), workload: w).run(.tree(collective: .ring))
        // Each rank sends messages / 2 messages one after another, each paying 100 us before it starts.
        let perRank = Double(r.messages) / 2 * 100e-6
        #expect(close(r.overhead.seconds, perRank), "overhead \(r.overhead.seconds), expected \(perRank)")
        #expect(r.idle.seconds < 1e-6, "idle \(r.idle.seconds)")
        #expect(close((r.compute + r.communication + r.overhead + r.idle).seconds, r.latency.seconds, tolerance: 1e-9))
        // Same timing with and without recording; zero overhead records no overhead interval.
        #expect(try model.run(.tree(collective: .ring), recording: false).latency == r.latency)
        #expect(base.overhead == .zero)
        #expect(try #require(base.execution).activities.allSatisfy { $0.kind != .overhead })
    }

    @Test func traceShowsTheOverheadOnTheSendThread() throws {
        var trace = ChromeTrace()
        trace.add(try twoMessages(), section: "s", deviceNames: ["gpu0", "gpu1"])
        let object = try JSONSerialization.jsonObject(with: try trace.jsonData()) as? [String: Any]
        let events = try #require(object?["traceEvents"] as? [[String: Any]])
        let overheads = events.filter { ($0["ph"] as? String) == "X" && ($0["cat"] as? String) == "overhead" }
        #expect(overheads.count == 2)
        for e in overheads {
            #expect(e["pid"] as? Int == 0)
            #expect(e["tid"] as? Int == 1)
            #expect((e["name"] as? String)?.contains("message overhead") == true)
            #expect(e["dur"] as? Double == 100)
        }
        #expect(overheads.compactMap { $0["ts"] as? Double } == [0, 200])
    }
}
