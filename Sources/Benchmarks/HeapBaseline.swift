import Foundation
import HeapModule
import Simulator

/// The benchmark baseline: raw `Heap<Event>` pop-then-push throughput with `live` pending events, the floor of
/// any event loop built on the heap. Returns operations per second.
public enum HeapBaseline {
    /// Pops and pushes `operations` times on a `Heap<Event>` of `live` events; also returns the seconds and a checksum
    /// of the popped times (so the loop cannot be optimised away).
    public static func measure(operations: Int, live: Int = 4096) -> (
        opsPerSecond: Double, seconds: Double, checksum: Int64
    ) {
        var heap = Heap<Event>()
        var rng = UInt64(0x9E3779B97F4A7C15)
        for i in 0..<live { heap.insert(Event(time: Int64(i), sequence: UInt64(i), target: 0, kind: 0, payload: 0)) }
        var checksum: Int64 = 0
        let start = Date()
        for i in 0..<operations {
            let e = heap.popMin()!
            checksum &+= e.time
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            heap.insert(
                Event(time: e.time + Int64(rng >> 44), sequence: UInt64(live + i), target: 0, kind: 0, payload: 0))
        }
        let seconds = Date().timeIntervalSince(start)
        return (Double(operations) / seconds, seconds, checksum)
    }

    /// The same pop-then-push loop through the simulator's own `EventQueue` (the `Heap` plus sequence numbering);
    /// the checksum equals `measure`'s for the same arguments (both pop in (time, sequence) order).
    public static func measureEventQueue(operations: Int, live: Int = 4096) -> (
        opsPerSecond: Double, seconds: Double, checksum: Int64
    ) {
        var queue = EventQueue()
        var rng = UInt64(0x9E3779B97F4A7C15)
        for i in 0..<live { queue.schedule(at: SimTime(picoseconds: Int64(i)), target: 0) }
        var checksum: Int64 = 0
        let start = Date()
        for _ in 0..<operations {
            let e = queue.next()!
            checksum &+= e.time
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            queue.schedule(at: SimTime(picoseconds: e.time + Int64(rng >> 44)), target: 0)
        }
        let seconds = Date().timeIntervalSince(start)
        return (Double(operations) / seconds, seconds, checksum)
    }
}
