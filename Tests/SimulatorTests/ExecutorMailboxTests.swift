import Testing

@testable import Simulator

/// Message matching in the executor: each rank's first pending (source, tag) entry is kept inline, further ones in a
/// shared table. These cases put several entries on one rank, repeat a tag, receive out of order, and check the
/// one-line deadlock error.
@Suite("Executor mailboxes")
struct ExecutorMailboxTests {
    func run(_ ops: [[RankOperation]], ranks: Int) throws -> ExecutionResult {
        let cluster = try fullyConnected(ranks, bandwidth: 10e9, latency: .microseconds(1))
        return try Execution(recording: true).run([ListProgram(singleLane: ops)], on: cluster)
    }

    @Test func manyPendingMessagesReceivedOutOfOrder() throws {
        // Rank 0 sends tags 0..5 (tag 3 twice) to rank 1, which waits a while, then receives them in reverse order;
        // rank 2 sends to rank 1 with the same tags (distinct source).
        let tags: [Int64] = [0, 1, 2, 3, 3, 4, 5]
        let bytes = 1e6
        var r0: [RankOperation] = tags.map { .send(to: 1, bytes: bytes, tag: $0) }
        r0.append(.waitSends)
        let r2: [RankOperation] = tags.map { .send(to: 1, bytes: bytes, tag: $0) }
        var r1: [RankOperation] = [.compute(.milliseconds(5), label: "busy")]
        for t in tags.reversed() {
            r1.append(.recv(from: 0, tag: t))
            r1.append(.recv(from: 2, tag: t))
        }
        let result = try run([r0, r1, r2], ranks: 3)
        #expect(result.messages == 14)
        #expect(result.transfers.count == 14)
        // Everything had arrived before rank 1 finished computing, so it finishes at 5 ms exactly.
        #expect(result.rankFinish[1] == .milliseconds(5))
    }

    @Test func receiverWaitingBeforeArrivalAndRepeatedTags() throws {
        // Rank 1 posts its receives first (waiting inline), messages with a repeated tag arrive one after another.
        let r0: [RankOperation] = [
            .send(to: 1, bytes: 1e6, tag: 9), .send(to: 1, bytes: 1e6, tag: 9),
            .send(to: 1, bytes: 1e6, tag: 4),
        ]
        let r1: [RankOperation] = [.recv(from: 0, tag: 9), .recv(from: 0, tag: 4), .recv(from: 0, tag: 9)]
        let result = try run([r0, r1], ranks: 2)
        // Same channel, back-to-back: three messages of 100 us each plus 1 us latency.
        #expect(result.rankFinish[1] == .microseconds(301))
    }

    @Test func deadlockNamesTheMissingMessage() throws {
        let r0: [RankOperation] = [.send(to: 1, bytes: 1e3, tag: 1), .send(to: 1, bytes: 1e3, tag: 2)]
        let r1: [RankOperation] = [.recv(from: 0, tag: 7)]
        #expect {
            _ = try run([r0, r1], ranks: 2)
        } throws: { error in
            "\(error)".contains("rank 1 stuck in phase 0 (waits for tag 7 from rank 0)")
        }
    }
}
