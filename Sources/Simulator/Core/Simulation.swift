/// What the event core drives: one value that reacts to events (the network with the executor, or a test's script).
/// It is mutated in place by the loop, so the hot path does no reference counting and needs no dynamic exclusivity
/// checks. `target`, `kind` and `payload` of an event are the handler's own encoding.
public protocol EventHandler {
    /// Handles one event at `queue.now`; may schedule more.
    mutating func handle(_ event: Event, queue: inout EventQueue)
}

/// The SimPy-like core: a clock, an event queue and one handler. It knows nothing but events; the network and the
/// rank-program executor plug in as the handler (`NetworkModel`).
public struct Simulation<Handler: EventHandler> {
    /// The clock and the pending events.
    public var queue = EventQueue()
    /// What the events drive.
    public var handler: Handler
    /// Number of events handled so far.
    public private(set) var eventsHandled = 0
    /// Set when an event fell beyond `SimTime.range`; the run stops there (see `checkClockRange`).
    public private(set) var exceededClockRange = false
    /// Called every `progressInterval` events during `run` (for progress display on long runs, and tests that check
    /// invariants between events).
    public var progress: ((Simulation) -> Void)?
    /// Events handled between two `progress` calls (one million by default).
    public var progressInterval = 1_000_000

    /// A simulation at time zero, with an empty queue, driving `handler`.
    public init(_ handler: Handler) { self.handler = handler }

    /// Current simulated time.
    public var now: SimTime { queue.now }

    /// Runs until the queue is empty or the next event is after `limit`. Returns the number of events handled.
    @discardableResult
    public mutating func run(until limit: SimTime? = nil) -> Int {
        let start = eventsHandled
        let cap = limit?.picoseconds ?? Int64.max
        var countdown = progressInterval
        while let event = queue.next(notAfter: cap) {
            if event.time >= SimTime.range.picoseconds {
                exceededClockRange = true
                break
            }
            queue.now = SimTime(picoseconds: event.time)
            eventsHandled += 1
            handler.handle(event, queue: &queue)
            countdown -= 1
            if countdown == 0 {
                countdown = progressInterval
                progress?(self)
            }
        }
        return eventsHandled - start
    }

    /// Throws when the run was stopped because simulated time left the clock's range.
    public func checkClockRange() throws {
        if exceededClockRange {
            throw SimulatorError.clockRange
        }
    }
}
