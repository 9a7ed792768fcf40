import HeapModule

/// A priority queue of events keyed by (time, sequence number): events at equal times fire in the order they were
/// scheduled, so a run is fully deterministic.
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

    /// The earliest event without removing it.
    public var peek: Event? { heap.min }
}
