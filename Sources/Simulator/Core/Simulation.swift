import Dispatch

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
    /// Called every `watchdogInterval` events during `run`; returning false stops the run there (a time limit that
    /// passed; see `stoppedByWatchdog`). Also where time-based progress goes: it is called often enough to see a
    /// slow run whose events are few.
    public var watchdog: ((Simulation) -> Bool)?
    /// The most events handled between two `watchdog` calls (256 by default: a clock read per 256 events costs under
    /// 0.1% of a fast run, and a run whose events turn slow is seen within 256 of them). The run starts at 16 and adapts:
    /// fewer events between calls while calls are more than 20 ms apart (events that each re-share thousands of
    /// flows), more while they are under 5 ms apart, so a watchdog sees the clock about every 10 ms however slow
    /// the events.
    public var watchdogInterval = 256
    /// Set when `watchdog` stopped the run before its queue was empty.
    public private(set) var stoppedByWatchdog = false

    /// A simulation at time zero, with an empty queue, driving `handler`.
    public init(_ handler: Handler) { self.handler = handler }

    /// Current simulated time.
    public var now: SimTime { queue.now }

    /// Runs until the queue is empty or the next event is after `limit`. Returns the number of events handled.
    @discardableResult
    public mutating func run(until limit: SimTime? = nil) -> Int {
        let start = eventsHandled
        let cap = limit?.picoseconds ?? Int64.max
        var countdown = progressInterval, interval = min(16, watchdogInterval), watch = interval
        var lastWatch = DispatchTime.now().uptimeNanoseconds
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
            watch -= 1
            if watch == 0 {
                if let watchdog {
                    if !watchdog(self) {
                        stoppedByWatchdog = true
                        break
                    }
                    let now = DispatchTime.now().uptimeNanoseconds
                    let gap = now &- lastWatch
                    if gap > 20_000_000 {
                        interval = max(1, interval / 4)
                    } else if gap < 5_000_000 {
                        interval = min(watchdogInterval, interval * 2)
                    }
                    lastWatch = now
                }
                watch = interval
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
