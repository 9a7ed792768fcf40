/// A priority queue of events keyed by (time, sequence number): events at equal times fire in the order they were
/// scheduled, so a run is fully deterministic.
///
/// Implementation: an implicit 4-ary min-heap specialised for `Event` (half the depth of a binary heap, and cheaper
/// per level than the min-max `Heap` of swift-collections, which `HeapBaseline` measures). Removal moves the hole
/// to a leaf along the smallest children, then sifts the last element up from there (Floyd's bottom-up heuristic:
/// the last element almost always belongs near the bottom). Since (time, sequence) keys are unique, the order in
/// which events come out is fully determined by the keys, whatever the heap's internal layout.
public struct EventQueue {
    @usableFromInline var heap: [Event] = []
    @usableFromInline var nextSequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    /// Number of events ever scheduled.
    public var scheduledCount: UInt64 { nextSequence }

    @inlinable
    public mutating func schedule(time: Int64, target: Int32, kind: Int32, payload: Int64) {
        let event = Event(time: time, sequence: nextSequence, target: target, kind: kind, payload: payload)
        nextSequence &+= 1
        heap.append(event)
        heap.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) >> 2
                let p = h[parent]
                if !Self.precedes(event, p) { break }
                h[i] = p
                i = parent
            }
            h[i] = event
        }
    }

    /// The earliest event (lowest time, then lowest sequence), removed from the queue.
    @inlinable
    public mutating func next() -> Event? {
        if heap.isEmpty { return nil }
        return removeFirst()
    }

    /// The earliest event if its time is at most `limit` (removed from the queue), else nil.
    @inlinable
    mutating func next(notAfter limit: Int64) -> Event? {
        guard let first = heap.first, first.time <= limit else { return nil }
        return removeFirst()
    }

    /// The earliest event without removing it.
    public var peek: Event? { heap.first }

    @inlinable @inline(__always)
    static func precedes(_ a: Event, _ b: Event) -> Bool {
        a.time != b.time ? a.time < b.time : a.sequence < b.sequence
    }

    /// Removes and returns the root; the heap must not be empty.
    @inlinable
    mutating func removeFirst() -> Event {
        let last = heap.removeLast()
        if heap.isEmpty { return last }
        return heap.withUnsafeMutableBufferPointer { h -> Event in
            let top = h[0]
            let n = h.count
            // Move the hole from the root down to a leaf, always towards the smallest child.
            var hole = 0
            while true {
                let first = 4 &* hole &+ 1
                if first >= n { break }
                var best = first
                var bestEvent = h[first]
                let end = first &+ 4 < n ? first &+ 4 : n
                var c = first &+ 1
                while c < end {
                    let e = h[c]
                    if Self.precedes(e, bestEvent) { best = c; bestEvent = e }
                    c &+= 1
                }
                h[hole] = bestEvent
                hole = best
            }
            // Sift the former last element up from the leaf hole.
            while hole > 0 {
                let parent = (hole &- 1) >> 2
                let p = h[parent]
                if !Self.precedes(last, p) { break }
                h[hole] = p
                hole = parent
            }
            h[hole] = last
            return top
        }
    }
}
