/// The clock and the pending events, keyed by (time, sequence number): events at equal times fire in the order they
/// were scheduled, so a run is fully deterministic. Backed by `EventHeap`, a binary min-heap (keys are unique, so the
/// order in which events come out is fully determined by the keys, whatever the heap's internal layout; it was
/// swift-collections' `Heap`, which `HeapBaseline` still measures).
public struct EventQueue {
    @usableFromInline var heap = EventHeap()
    @usableFromInline var nextSequence: UInt64 = 0
    /// Current simulated time: the time of the event being handled.
    public internal(set) var now: SimTime = .zero

    /// An empty queue with the clock at zero.
    public init() {}

    /// Events still pending.
    public var count: Int { heap.count }
    /// Whether no event is pending.
    public var isEmpty: Bool { heap.isEmpty }

    /// Schedules an event for `target` at absolute time `time` (never in the past).
    @inlinable
    public mutating func schedule(at time: SimTime, target: Int32, kind: Int32 = 0, payload: Int64 = 0) {
        precondition(time >= now, "cannot schedule an event in the past")
        schedule(time: time.picoseconds, target: target, kind: kind, payload: payload)
    }

    @inlinable
    mutating func schedule(time: Int64, target: Int32, kind: Int32, payload: Int64) {
        heap.insert(Event(time: time, sequence: nextSequence, target: target, kind: kind, payload: payload))
        nextSequence &+= 1
    }

    /// Drops pending events that no longer matter (e.g. timers superseded by a rescheduling), keeping the others'
    /// order: the run is the same, only the memory of the dropped events is freed.
    public mutating func discard(where isObsolete: (Event) -> Bool) { heap.removeAll(where: isObsolete) }

    /// The earliest event (lowest time, then lowest sequence), removed from the queue; the clock is not moved.
    @inlinable
    public mutating func next() -> Event? { heap.popMin() }

    /// The earliest event if its time is at most `limit` (removed from the queue), else nil.
    @inlinable
    mutating func next(notAfter limit: Int64) -> Event? {
        guard let first = heap.min, first.time <= limit else { return nil }
        return heap.popMin()
    }
}
