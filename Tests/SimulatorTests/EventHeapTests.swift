import Testing

@testable import Simulator

/// `EventHeap` pops in (time, sequence) order under interleaved pushes and pops, including equal times.
@Suite("Event heap")
struct EventHeapTests {
    @Test(arguments: [1, 2, 7, 1000])
    func popsInKeyOrder(live: Int) {
        var rng = SplitMix(seed: UInt64(live))
        var heap = EventHeap(), reference: [Event] = [], sequence: UInt64 = 0, now: Int64 = 0
        func push() {
            let e = Event(
                time: now + Int64(rng.next() % 50), sequence: sequence, target: 0, kind: 0, payload: Int64(sequence))
            sequence += 1
            heap.insert(e)
            reference.append(e)
        }
        for _ in 0..<live { push() }
        for step in 0..<20_000 {
            reference.sort()
            let expected = reference.removeFirst()
            let got = heap.popMin()
            #expect(got == expected && got?.payload == expected.payload, "step \(step)")
            now = expected.time
            if step % 3 != 2 || heap.isEmpty { push() }
            if step % 7 == 0 { push() }
            #expect(heap.count == reference.count)
        }
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            return FatTreeRouting.hash(Int(state >> 32), Int(state & 0xffff_ffff))
        }
    }
}
