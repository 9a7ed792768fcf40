/// Something that reacts to events: the network's flow scheduler, the rank-program executor, or a closure.
public protocol EventHandler: AnyObject {
    func handle(_ event: Event, in simulation: Simulation)
}

/// The SimPy-like core: a clock, an event queue, and a table of handlers. Everything else (network, collectives,
/// decode strategies) is built on top by registering handlers and scheduling events.
public final class Simulation {
    /// Current simulated time (the time of the event being handled).
    public private(set) var now: SimTime = .zero
    /// Number of events handled so far.
    public private(set) var eventsHandled: Int = 0
    /// Set when an event fell beyond `SimTime.range`; the run stops there (see `checkClockRange`).
    public private(set) var exceededClockRange = false
    @usableFromInline var queue = EventQueue()
    var handlers: [EventHandler] = []
    /// How to call each handler: the simulator's own final classes directly and without reference counting
    /// (`handlers` keeps them alive), anything else through the protocol.
    private enum Dispatch { case flows(Unmanaged<FlowScheduler>), executor(Unmanaged<Executor>), other }
    private var dispatch: [Dispatch] = []
    private let closures = ClosureHandler()
    private let closureTarget: Int32

    public init() {
        handlers.append(closures)
        dispatch.append(.other)
        closureTarget = 0
    }

    /// Registers a handler; the returned index is the `target` of its events.
    public func register(_ handler: EventHandler) -> Int32 {
        handlers.append(handler)
        if let flows = handler as? FlowScheduler {
            dispatch.append(.flows(.passUnretained(flows)))
        } else if let executor = handler as? Executor {
            dispatch.append(.executor(.passUnretained(executor)))
        } else {
            dispatch.append(.other)
        }
        return Int32(handlers.count - 1)
    }

    /// Schedules an event for `target` at absolute time `time` (never in the past).
    @inlinable
    public func schedule(at time: SimTime, target: Int32, kind: Int32 = 0, payload: Int64 = 0) {
        precondition(time >= now, "cannot schedule an event in the past")
        queue.schedule(time: time.picoseconds, target: target, kind: kind, payload: payload)
    }

    /// Schedules a closure `delay` after now (convenient for tests and one-off actions; the hot paths use handlers).
    public func schedule(after delay: SimTime, _ action: @escaping (Simulation) -> Void) {
        let slot = closures.store(action)
        schedule(at: now + delay, target: closureTarget, kind: 0, payload: Int64(slot))
    }

    /// Called every `progressInterval` events during `run` (for progress display on long runs).
    public var progress: ((Simulation) -> Void)?
    public var progressInterval = 1_000_000

    /// Runs until the queue is empty or the next event is after `limit`. Returns the number of events handled.
    @discardableResult
    public func run(until limit: SimTime? = nil) -> Int {
        let start = eventsHandled
        let cap = limit?.picoseconds ?? Int64.max
        var countdown = progressInterval
        while let event = queue.next(notAfter: cap) {
            if event.time >= SimTime.range.picoseconds {
                exceededClockRange = true
                break
            }
            now = SimTime(picoseconds: event.time)
            eventsHandled += 1
            switch dispatch[Int(event.target)] {
            case .flows(let flows): flows._withUnsafeGuaranteedRef { $0.handle(event, in: self) }
            case .executor(let executor): executor._withUnsafeGuaranteedRef { $0.handle(event, in: self) }
            case .other: handlers[Int(event.target)].handle(event, in: self)
            }
            countdown -= 1
            if countdown == 0 {
                countdown = progressInterval
                progress?(self)
            }
        }
        return eventsHandled - start
    }

    /// Events still pending.
    public var pendingEvents: Int { queue.count }

    /// Throws when the run was stopped because simulated time left the clock's range.
    public func checkClockRange() throws {
        if exceededClockRange {
            throw SimulatorError.invalidArgument(
                "simulated time exceeds the clock's range (2^62 ps, about 53 days): reduce the sizes or overheads")
        }
    }
}

/// Stores one-shot closures in reusable slots.
final class ClosureHandler: EventHandler {
    private var slots: [((Simulation) -> Void)?] = []
    private var free: [Int] = []

    func store(_ action: @escaping (Simulation) -> Void) -> Int {
        if let slot = free.popLast() { slots[slot] = action; return slot }
        slots.append(action)
        return slots.count - 1
    }

    func handle(_ event: Event, in simulation: Simulation) {
        let slot = Int(event.payload)
        let action = slots[slot]!
        slots[slot] = nil
        free.append(slot)
        action(simulation)
    }
}
