import HeapModule

/// A priority queue of events keyed by (time, sequence number): events at equal times fire in the order they were
/// scheduled, so a run is fully deterministic. Backed by swift-collections' `Heap` (keys are unique, so the order in
/// which events come out is fully determined by the keys, whatever the heap's internal layout).
public struct EventQueue {
    @usableFromInline var heap = Heap<Event>()
    @usableFromInline var nextSequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    /// Number of events ever scheduled.
    public var scheduledCount: UInt64 { nextSequence }

    @inlinable
    public mutating func schedule(time: Int64, target: Int32, kind: Int32, payload: Int64) {
        heap.insert(Event(time: time, sequence: nextSequence, target: target, kind: kind, payload: payload))
        nextSequence &+= 1
    }

    /// The earliest event (lowest time, then lowest sequence), removed from the queue.
    @inlinable
    public mutating func next() -> Event? { heap.popMin() }

    /// The earliest event if its time is at most `limit` (removed from the queue), else nil.
    @inlinable
    mutating func next(notAfter limit: Int64) -> Event? {
        guard let first = heap.min, first.time <= limit else { return nil }
        return heap.popMin()
    }

    /// The earliest event without removing it.
    public var peek: Event? { heap.min }
}
