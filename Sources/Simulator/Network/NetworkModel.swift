/// Who an event belongs to, inside a `NetworkModel`.
public enum EventTarget: Int32 {
    /// The flow scheduler's own events (transmit ends, arrivals).
    case network = 0
    /// The observer's events (compute ends, delayed message starts, a test's scripted sends).
    case observer = 1
}

/// Whoever drives the network (the rank-program `Executor`, or a test's script). The network tells it about every
/// transfer synchronously, from inside its own event handling, and hands itself over so that the observer can start
/// new transfers at once; the observer's own events come with the network too.
public protocol NetworkObserver {
    /// The first segment of the transfer with this context has been transmitted: the sender's data has left.
    mutating func transmitted(_ context: Int64, network: inout FlowScheduler, queue: inout EventQueue)
    /// The transfer with this context has fully arrived at its destination.
    mutating func delivered(_ context: Int64, network: inout FlowScheduler, queue: inout EventQueue)
    /// One of the observer's own events (target `EventTarget.observer`).
    mutating func handle(_ event: Event, network: inout FlowScheduler, queue: inout EventQueue)
}

/// The network and its observer as the one handler of the event core: events for `EventTarget.network` go to the
/// flow scheduler, the others to the observer. Everything is a value mutated in place by the loop, so the hot path
/// does no reference counting and needs no dynamic exclusivity checks.
public struct NetworkModel<Observer: NetworkObserver>: EventHandler {
    /// The flow scheduler: handles the events with target `EventTarget.network`.
    public var network: FlowScheduler
    /// Whoever drives the network: handles every other event.
    public var observer: Observer

    /// Joins a flow scheduler and its observer into one event handler.
    public init(network: FlowScheduler, observer: Observer) {
        self.network = network
        self.observer = observer
    }

    @inline(__always)
    public mutating func handle(_ event: Event, queue: inout EventQueue) {
        if event.target == EventTarget.network.rawValue {
            network.handle(event, queue: &queue, observer: &observer)
        } else {
            observer.handle(event, network: &network, queue: &queue)
        }
    }
}
