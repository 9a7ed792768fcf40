/// One scheduled event: a small value type so the queue never allocates per event. `target` names the handler
/// registered with the `Simulation`; `kind` and `payload` are the handler's own encoding.
public struct Event: Comparable, Sendable {
    /// Firing time in picoseconds.
    public var time: Int64
    /// Insertion order: breaks ties between events at the same time (first scheduled, first fired).
    public var sequence: UInt64
    /// Index of the handler (see `Simulation.register`).
    public var target: Int32
    /// Handler-defined event kind.
    public var kind: Int32
    /// Handler-defined payload (an index, or an index and a version packed together).
    public var payload: Int64

    /// An event with every field given (`EventQueue.schedule` assigns `sequence` in scheduling order).
    @inlinable
    public init(time: Int64, sequence: UInt64, target: Int32, kind: Int32, payload: Int64) {
        self.time = time
        self.sequence = sequence
        self.target = target
        self.kind = kind
        self.payload = payload
    }

    /// Orders by `time`, then by `sequence`: of two events at the same time, the one scheduled first fires first.
    @inlinable
    public static func < (a: Event, b: Event) -> Bool {
        a.time != b.time ? a.time < b.time : a.sequence < b.sequence
    }

    /// Equal when `time` and `sequence` are equal (the queue's key; `target`, `kind` and `payload` are not compared).
    @inlinable
    public static func == (a: Event, b: Event) -> Bool { a.time == b.time && a.sequence == b.sequence }
}
