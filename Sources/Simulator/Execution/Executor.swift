/// Runs rank programs on a network: ranks map to GPU nodes, sends become flows in the `FlowScheduler`, receives
/// match messages by (phase, source, tag). Programs are run as consecutive phases: a rank starts phase k+1 as soon
/// as all its own lanes of phase k are done (no global barrier).
///
/// A value type: the network's `NetworkObserver`, driven by the event core through `NetworkModel` (see
/// `Execution.run`, the one place that wires a run together). Its own events have target `EventTarget.observer`.
public struct Executor: NetworkObserver {
    /// Network node of each rank.
    public let devices: [Int]
    /// Record every transfer and compute interval (for traces and breakdowns). Off for large benchmarks.
    public let recording: Bool
    /// Accumulate the activity breakdown while running (`BusyTimeline`: memory independent of the message count).
    public let breakdown: Bool
    /// When queued messages on a channel may start.
    public let pacing: ChannelPacing
    /// Software overhead per message (e.g. a protocol step's fixed cost): the message enters the network this long
    /// after it is started; its channel is held meanwhile. Recorded as an overhead interval on the sending rank
    /// (`ActivityRecord.destinationRank` set). Zero (idealised) by default.
    public let messageOverhead: SimTime

    /// The executor's own events.
    private enum Kind: Int32 {
        /// A compute, overhead or modelled-communication interval ended: the process (payload) continues.
        case resume = 0
        /// A message's per-message overhead ended: the message (payload) enters the network.
        case inject = 1
    }

    private let phases: [RankProgram]
    /// The phases boxed, to call `operation` on the hot path without copying the existential (`phaseBoxes` keeps
    /// the boxes alive).
    private final class ProgramBox {
        let program: RankProgram
        init(_ program: RankProgram) { self.program = program }
    }
    private let phaseBoxes: [ProgramBox]
    private let phaseRefs: [Unmanaged<ProgramBox>]

    // Processes (lanes).
    private var pRank: [Int32] = [], pLane: [Int32] = [], pStep: [Int32] = [], pPhase: [Int32] = []
    private var pGeneration: [UInt32] = [], pOutstanding: [Int32] = [], pWaitingSends: [Bool] = []
    private var freeProcesses: [Int32] = []
    // Ranks.
    private var rankPhase: [Int32]
    private var rankActive: [Int32]
    private var rankFinish: [SimTime]
    private var bytesSent: [Double]
    // Mailboxes, keyed by (rank, phase, source, tag): value >= 0 is a waiting process, value < 0 is -(number of
    // arrived, unconsumed messages).
    // Each rank's first entry lives inline in `inbox[rank]` (a ring or tree step rarely has more than one pending),
    // further ones in the shared `mailbox` table; a key is in exactly one of the two places.
    private struct MessageKey: Equatable {
        var phase: Int32
        var source: Int32
        var tag: Int64
    }
    private struct Inbox {
        var key = MessageKey(phase: 0, source: 0, tag: 0)
        var value: Int32 = 0
        var used = false
        /// Entries of this rank in `mailbox`.
        var overflow: Int32 = 0
    }
    private var inbox: [Inbox]
    private var mailbox = IndexTable()
    /// Where a mailbox lookup found its key: inline (`slot` -1), in the table (`slot` >= 0; also where a new key
    /// goes), or nowhere and the table was not probed (`slot` -2).
    private struct MailboxEntry {
        var value: Int32?
        var slot: Int
    }
    // Channels, keyed by (source, destination, channel); each caches its network route.
    private var channelIndex = IndexTable()
    /// The channel each rank sent on last (destination, channel id, index; index -1: none), checked before
    /// `channelIndex`.
    private struct LastChannel {
        var destination: Int32 = -1
        var channel: Int32 = 0
        var index: Int32 = -1
    }
    private var lastChannel: [LastChannel]
    private var channelBusy: [Bool] = []
    private var channelRoute: [Int32] = []
    /// For a switch-flow channel (`RankOperation.switchFlow`), its index in `switchTargets`; -1 for point to point.
    private var channelTargets: [Int32] = []
    /// The destination ranks of each switch-flow channel.
    private var switchTargets: [[Int32]] = []
    /// Why the run cannot go on (a switch flow with no common switch): the stalled rank stops, and `result` throws it.
    private var failure: SimulatorError? = nil
    /// FIFO of messages waiting for each channel, linked through `mNext` (-1: empty / end).
    private var channelHead: [Int32] = [], channelTail: [Int32] = []
    // Messages in flight.
    private var mSource: [Int32] = [], mDestination: [Int32] = [], mChannel: [Int32] = [], mNext: [Int32] = []
    private var mKey: [MessageKey] = [], mBytes: [Double] = [], mStart: [SimTime] = [], mTransmitted: [SimTime] = []
    private var mProcess: [Int32] = [], mGeneration: [UInt32] = []
    private var freeMessages: [Int32] = []
    private var messageCount = 0
    private var lastActivity = SimTime.zero

    private var busy: BusyTimeline?
    /// Each message's serial in `busy` (when the breakdown is on).
    private var mSerial: [Int] = []
    /// The most spans a rank's breakdown list has held (see `BusyTimeline`).
    var busySpanHighWater: Int { busy?.spanHighWater ?? 0 }
    private var transfers: [TransferRecord] = []
    private var activities: [ActivityRecord] = []

    /// Prepares `phases` (each written for `devices.count` ranks) to run with rank i on network node `devices[i]`.
    public init(
        devices: [Int], phases: [RankProgram], recording: Bool = false, breakdown: Bool = false,
        pacing: ChannelPacing = .backToBack, messageOverhead: SimTime = .zero
    ) throws {
        let p = devices.count
        for (i, phase) in phases.enumerated() where phase.ranks != p {
            throw SimulatorError.invalidArgument(
                "phase \(i) is written for \(phase.ranks) ranks, the executor has \(p)")
        }
        self.devices = devices
        self.recording = recording
        self.breakdown = breakdown
        busy = breakdown ? BusyTimeline(ranks: p) : nil
        self.pacing = pacing
        self.messageOverhead = messageOverhead
        self.phases = phases
        phaseBoxes = phases.map(ProgramBox.init)
        phaseRefs = phaseBoxes.map { Unmanaged.passUnretained($0) }
        rankPhase = [Int32](repeating: 0, count: p)
        rankActive = [Int32](repeating: 0, count: p)
        rankFinish = [SimTime](repeating: .zero, count: p)
        bytesSent = [Double](repeating: 0, count: p)
        inbox = [Inbox](repeating: Inbox(), count: p)
        lastChannel = [LastChannel](repeating: LastChannel(), count: p)
    }

    /// Starts the first phase on every rank; the event core then runs everything else. `stop` is asked every 64 ranks
    /// (starting tens of thousands of ranks routes and starts all their first messages, seconds of work): when it says
    /// yes, the start ends early and returns false.
    @discardableResult
    mutating func start(network: inout FlowScheduler, queue: inout EventQueue, stop: () -> Bool = { false }) -> Bool {
        for r in 0..<devices.count {
            if r % 64 == 63 && stop() { return false }
            enterPhase(rank: r, phase: 0, network: &network, queue: &queue)
        }
        return true
    }

    /// What the run produced, once the event queue has drained. Throws if a program deadlocked (a receive without a
    /// matching send).
    func result(network: FlowScheduler, events: Int) throws -> ExecutionResult {
        if let failure { throw failure }
        let p = devices.count
        for r in 0..<p where Int(rankPhase[r]) < phases.count {
            var waiting: (tag: Int64, source: Int32)? = nil
            if inbox[r].used && inbox[r].value >= 0 {
                waiting = (inbox[r].key.tag, inbox[r].key.source)
            } else if let e = mailbox.first(where: { key, value in key.a >> 32 == UInt64(r) && value >= 0 }) {
                waiting = (Int64(bitPattern: e.key.c), Int32(truncatingIfNeeded: e.key.b))
            }
            let detail = waiting.map { " (waits for tag \($0.tag) from rank \($0.source))" } ?? ""
            throw SimulatorError.invalidArgument(
                "program deadlocked: rank \(r) stuck in phase \(rankPhase[r])\(detail)")
        }
        let makespan = max(rankFinish.max() ?? .zero, lastActivity)
        return ExecutionResult(
            makespan: makespan, rankFinish: rankFinish, events: events,
            messages: messageCount, bytesSent: bytesSent, bytesPerLinkClass: network.bytesPerLinkClass,
            transfers: transfers, activities: activities, breakdown: busy?.breakdown(makespan: makespan))
    }

    private mutating func enterPhase(rank r: Int, phase: Int, network: inout FlowScheduler, queue: inout EventQueue) {
        var phase = phase
        while phase < phases.count {
            let lanes = phases[phase].lanes(rank: r)
            if lanes > 0 {
                rankPhase[r] = Int32(phase)
                rankActive[r] = Int32(lanes)
                for lane in 0..<lanes {
                    let proc = newProcess(rank: r, lane: lane, phase: phase)
                    advance(proc, network: &network, queue: &queue)
                }
                return
            }
            phase += 1
        }
        rankPhase[r] = Int32(phases.count)
        rankFinish[r] = queue.now
    }

    private mutating func newProcess(rank: Int, lane: Int, phase: Int) -> Int32 {
        if let p = freeProcesses.popLast() {
            pRank[Int(p)] = Int32(rank)
            pLane[Int(p)] = Int32(lane)
            pStep[Int(p)] = 0
            pPhase[Int(p)] = Int32(phase)
            pGeneration[Int(p)] &+= 1
            pOutstanding[Int(p)] = 0
            pWaitingSends[Int(p)] = false
            return p
        }
        pRank.append(Int32(rank))
        pLane.append(Int32(lane))
        pStep.append(0)
        pPhase.append(Int32(phase))
        pGeneration.append(0)
        pOutstanding.append(0)
        pWaitingSends.append(false)
        return Int32(pRank.count - 1)
    }

    @inline(__always)
    private static func mailboxKey(rank: Int, _ key: MessageKey) -> IndexTable.Key {
        IndexTable.Key(
            a: UInt64(UInt32(truncatingIfNeeded: rank)) << 32 | UInt64(UInt32(bitPattern: key.phase)),
            b: UInt64(UInt32(bitPattern: key.source)), c: UInt64(bitPattern: key.tag))
    }

    @inline(__always)
    private func mailboxFind(rank: Int, _ key: MessageKey) -> MailboxEntry {
        let box = inbox[rank]
        if box.used && box.key == key { return MailboxEntry(value: box.value, slot: -1) }
        if box.overflow == 0 { return MailboxEntry(value: nil, slot: -2) }
        let slot = mailbox.probe(Self.mailboxKey(rank: rank, key))
        return MailboxEntry(value: mailbox.value(atSlot: slot), slot: slot)
    }

    /// Sets the entry found by `mailboxFind` (no other mailbox change in between) to `value`.
    @inline(__always)
    private mutating func mailboxSet(rank: Int, _ key: MessageKey, _ value: Int32, _ entry: MailboxEntry) {
        if entry.slot == -1 {
            inbox[rank].value = value
            return
        }
        let tableKey = Self.mailboxKey(rank: rank, key)
        if entry.value != nil {
            mailbox.insert(tableKey, value, atSlot: entry.slot)
            return
        }
        if !inbox[rank].used {
            inbox[rank].key = key
            inbox[rank].value = value
            inbox[rank].used = true
            return
        }
        mailbox.insert(tableKey, value, atSlot: entry.slot >= 0 ? entry.slot : mailbox.probe(tableKey))
        inbox[rank].overflow += 1
    }

    /// Removes the (existing) entry found by `mailboxFind`.
    @inline(__always)
    private mutating func mailboxRemove(rank: Int, _ entry: MailboxEntry) {
        if entry.slot == -1 {
            inbox[rank].used = false
            return
        }
        mailbox.remove(atSlot: entry.slot)
        inbox[rank].overflow -= 1
    }

    private mutating func advance(_ proc: Int32, network: inout FlowScheduler, queue: inout EventQueue) {
        let i = Int(proc)
        let rank = Int(pRank[i]), lane = Int(pLane[i]), phase = Int(pPhase[i])
        let program = phaseRefs[phase]
        while true {
            let step = Int(pStep[i])
            guard
                let op = program._withUnsafeGuaranteedRef({ $0.program.operation(rank: rank, lane: lane, step: step) })
            else {
                finish(proc, network: &network, queue: &queue)
                return
            }
            pStep[i] += 1
            switch op {
            case .send(let to, let bytes, let tag, let channel):
                precondition(to >= 0 && to < devices.count, "send to rank \(to) outside 0..<\(devices.count)")
                post(
                    from: rank, to: to, bytes: bytes,
                    key: MessageKey(phase: Int32(phase), source: Int32(rank), tag: tag),
                    channel: channel, process: proc, network: &network, queue: &queue)
            case .switchFlow(let flow):
                guard (flow.sources + flow.destinations).allSatisfy({ $0 >= 0 && $0 < devices.count }),
                    !flow.destinations.isEmpty, !flow.sources.isEmpty
                else {
                    failure = .invalidArgument("a switch flow names no rank or a rank outside 0..<\(devices.count)")
                    return
                }
                let c: Int32
                do { c = try findSwitchChannel(from: rank, flow, network: &network) } catch {
                    failure = error as? SimulatorError ?? .invalidArgument("\(error)")
                    return
                }
                enqueue(
                    channel: c, from: rank, to: flow.destinations[0], bytes: flow.bytes,
                    key: MessageKey(phase: Int32(phase), source: Int32(rank), tag: flow.tag), process: proc,
                    network: &network, queue: &queue)
                for source in flow.sources { bytesSent[source] += flow.bytes }
            case .waitSends:
                if pOutstanding[i] > 0 {
                    pWaitingSends[i] = true
                    return
                }
            case .recv(let from, let tag):
                let key = MessageKey(phase: Int32(phase), source: Int32(from), tag: tag)
                let entry = mailboxFind(rank: rank, key)
                if let v = entry.value, v < 0 {
                    if v == -1 { mailboxRemove(rank: rank, entry) } else { mailboxSet(rank: rank, key, v + 1, entry) }
                    continue
                }
                mailboxSet(rank: rank, key, proc, entry)
                return
            case .compute(let duration, let label), .overhead(let duration, let label),
                .modelledCommunication(let duration, let label):
                if duration.picoseconds <= 0 { continue }
                if busy != nil {
                    if case .compute = op {
                        busy!.addCompute(rank: rank, start: queue.now, end: queue.now + duration, now: queue.now)
                    } else if case .overhead = op {
                        busy!.addOverhead(rank: rank, start: queue.now, end: queue.now + duration, now: queue.now)
                    } else {
                        busy!.addCommunication(rank: rank, start: queue.now, end: queue.now + duration, now: queue.now)
                    }
                }
                if recording {
                    let kind: ActivityRecord.Kind
                    switch op {
                    case .compute: kind = .compute
                    case .overhead: kind = .overhead
                    default: kind = .communication
                    }
                    activities.append(
                        ActivityRecord(
                            rank: rank, kind: kind, label: label, start: queue.now,
                            end: queue.now + duration))
                }
                queue.schedule(
                    at: queue.now + duration, target: EventTarget.observer.rawValue, kind: Kind.resume.rawValue,
                    payload: Int64(proc))
                return
            }
        }
    }

    private mutating func finish(_ proc: Int32, network: inout FlowScheduler, queue: inout EventQueue) {
        let rank = Int(pRank[Int(proc)])
        let phase = Int(pPhase[Int(proc)])
        freeProcesses.append(proc)
        rankActive[rank] -= 1
        if rankActive[rank] == 0 { enterPhase(rank: rank, phase: phase + 1, network: &network, queue: &queue) }
    }

    public mutating func handle(_ event: Event, network: inout FlowScheduler, queue: inout EventQueue) {
        switch Kind(rawValue: event.kind) {
        case .resume: advance(Int32(event.payload), network: &network, queue: &queue)
        case .inject: inject(Int32(event.payload), network: &network, queue: &queue)
        case nil: preconditionFailure("unknown executor event kind \(event.kind)")
        }
    }

    // MARK: messages

    /// The index of channel (from, to, channel), created (with its route) on first use.
    private mutating func findChannel(from: Int, to: Int, _ channel: Int32, network: inout FlowScheduler) -> Int32 {
        let ck = IndexTable.Key(
            a: UInt64(UInt32(truncatingIfNeeded: from)) << 32 | UInt64(UInt32(truncatingIfNeeded: to)),
            b: UInt64(UInt32(bitPattern: channel)), c: 0)
        if let existing = channelIndex[ck] { return existing }
        do {
            return addChannel(ck, route: try network.routeID(devices[from], devices[to]), targets: -1)
        } catch {
            preconditionFailure("route between ranks failed after validation: \(error)")
        }
    }

    /// A new idle channel under `key` with its route and, for a switch flow, its index in `switchTargets` (-1: none).
    private mutating func addChannel(_ key: IndexTable.Key, route: Int32, targets: Int32) -> Int32 {
        let c = Int32(channelBusy.count)
        channelIndex.insert(key, c)
        channelBusy.append(false)
        channelHead.append(-1)
        channelTail.append(-1)
        channelRoute.append(route)
        channelTargets.append(targets)
        return c
    }

    /// The index of the switch-flow channel of `flow` started by rank `from`, created (with its route through the
    /// switch) on first use; throws where the ranks share no switch.
    private mutating func findSwitchChannel(from: Int, _ flow: SwitchFlow, network: inout FlowScheduler) throws
        -> Int32
    {
        let route = try network.switchTreeID(
            sources: flow.sources.map { devices[$0] }, destinations: flow.destinations.map { devices[$0] })
        let ck = IndexTable.Key(
            a: UInt64(UInt32(truncatingIfNeeded: from)) << 32 | UInt64(UInt32(bitPattern: route)),
            b: UInt64(UInt32(bitPattern: flow.channel)), c: 1)
        if let existing = channelIndex[ck] { return existing }
        switchTargets.append(flow.destinations.map { Int32($0) })
        return addChannel(ck, route: route, targets: Int32(switchTargets.count - 1))
    }

    private mutating func post(
        from: Int, to: Int, bytes: Double, key: MessageKey, channel: Int32, process: Int32,
        network: inout FlowScheduler, queue: inout EventQueue
    ) {
        let last = lastChannel[from]
        let c: Int32
        if last.index >= 0 && last.destination == Int32(to) && last.channel == channel {
            c = last.index
        } else {
            c = findChannel(from: from, to: to, channel, network: &network)
            lastChannel[from] = LastChannel(destination: Int32(to), channel: channel, index: c)
        }
        bytesSent[from] += bytes
        enqueue(
            channel: c, from: from, to: to, bytes: bytes, key: key, process: process, network: &network, queue: &queue)
    }

    /// Creates message (from, to, bytes, key) on channel `c` and starts it, or queues it behind the channel's.
    private mutating func enqueue(
        channel c: Int32, from: Int, to: Int, bytes: Double, key: MessageKey, process: Int32,
        network: inout FlowScheduler, queue: inout EventQueue
    ) {
        let m: Int32
        if let reused = freeMessages.popLast() {
            m = reused
            mSource[Int(m)] = Int32(from)
            mDestination[Int(m)] = Int32(to)
            mChannel[Int(m)] = c
            mKey[Int(m)] = key
            mBytes[Int(m)] = bytes
            mProcess[Int(m)] = process
            mGeneration[Int(m)] = pGeneration[Int(process)]
        } else {
            m = Int32(mSource.count)
            mSource.append(Int32(from))
            mDestination.append(Int32(to))
            mChannel.append(c)
            mNext.append(-1)
            mKey.append(key)
            mBytes.append(bytes)
            mStart.append(.zero)
            mTransmitted.append(.zero)
            mProcess.append(process)
            mGeneration.append(pGeneration[Int(process)])
            mSerial.append(0)
        }
        pOutstanding[Int(process)] += 1
        messageCount += 1
        if channelBusy[Int(c)] {
            mNext[Int(m)] = -1
            let tail = channelTail[Int(c)]
            if tail < 0 { channelHead[Int(c)] = m } else { mNext[Int(tail)] = m }
            channelTail[Int(c)] = m
        } else {
            start(m, network: &network, queue: &queue)
        }
    }

    private mutating func start(_ m: Int32, network: inout FlowScheduler, queue: inout EventQueue) {
        channelBusy[Int(mChannel[Int(m)])] = true
        if messageOverhead.picoseconds > 0 {
            if busy != nil {
                busy!.addOverhead(
                    rank: Int(mSource[Int(m)]), start: queue.now, end: queue.now + messageOverhead, now: queue.now)
            }
            if recording {
                // A fixed software cost paid by the sender: recorded as overhead (breakdown and trace), not idle.
                let i = Int(m)
                activities.append(
                    ActivityRecord(
                        rank: Int(mSource[i]), kind: .overhead, label: "message overhead",
                        start: queue.now, end: queue.now + messageOverhead,
                        destinationRank: Int(mDestination[i])))
            }
            queue.schedule(
                at: queue.now + messageOverhead, target: EventTarget.observer.rawValue, kind: Kind.inject.rawValue,
                payload: Int64(m))
        } else {
            inject(m, network: &network, queue: &queue)
        }
    }

    private mutating func inject(_ m: Int32, network: inout FlowScheduler, queue: inout EventQueue) {
        mStart[Int(m)] = queue.now
        if busy != nil { mSerial[Int(m)] = busy!.injected(start: queue.now) }
        network.send(
            route: channelRoute[Int(mChannel[Int(m)])], bytes: mBytes[Int(m)], context: Int64(m), queue: &queue)
    }

    private mutating func release(channel c: Int32, network: inout FlowScheduler, queue: inout EventQueue) {
        let next = channelHead[Int(c)]
        if next >= 0 {
            let after = mNext[Int(next)]
            channelHead[Int(c)] = after
            if after < 0 { channelTail[Int(c)] = -1 }
            start(next, network: &network, queue: &queue)
        } else {
            channelBusy[Int(c)] = false
        }
    }

    public mutating func transmitted(_ context: Int64, network: inout FlowScheduler, queue: inout EventQueue) {
        let m = Int32(truncatingIfNeeded: context)
        mTransmitted[Int(m)] = queue.now
        if pacing == .backToBack { release(channel: mChannel[Int(m)], network: &network, queue: &queue) }
    }

    public mutating func delivered(_ context: Int64, network: inout FlowScheduler, queue: inout EventQueue) {
        let m = Int32(truncatingIfNeeded: context)
        let i = Int(m)
        let now = queue.now
        lastActivity = max(lastActivity, now)
        let channel = mChannel[i]
        let targets = channelTargets[Int(channel)]
        if busy != nil {
            busy!.addCommunication(rank: Int(mSource[i]), start: mStart[i], end: mTransmitted[i], now: now)
            if targets < 0 {
                busy!.addCommunication(rank: Int(mDestination[i]), start: mStart[i], end: now, now: now)
            } else {
                for r in switchTargets[Int(targets)] {
                    busy!.addCommunication(rank: Int(r), start: mStart[i], end: now, now: now)
                }
            }
            busy!.delivered(serial: mSerial[i])
        }
        if recording {
            for r in targets < 0 ? [mDestination[i]] : switchTargets[Int(targets)] {
                transfers.append(
                    TransferRecord(
                        sourceRank: Int(mSource[i]), destinationRank: Int(r),
                        bytes: mBytes[i], start: mStart[i], transmitted: mTransmitted[i], delivered: now))
            }
        }
        let destination = mDestination[i]
        let key = mKey[i]
        let sender = mProcess[i], generation = mGeneration[i]
        freeMessages.append(m)
        if pGeneration[Int(sender)] == generation {
            pOutstanding[Int(sender)] -= 1
            if pOutstanding[Int(sender)] == 0 && pWaitingSends[Int(sender)] {
                pWaitingSends[Int(sender)] = false
                advance(sender, network: &network, queue: &queue)
            }
        }
        if pacing == .afterDelivery { release(channel: channel, network: &network, queue: &queue) }
        if targets < 0 {
            arrive(rank: Int(destination), key, network: &network, queue: &queue)
        } else {
            for r in switchTargets[Int(targets)] { arrive(rank: Int(r), key, network: &network, queue: &queue) }
        }
    }

    /// A message with `key` has arrived at `rank`: wakes the process waiting for it, or leaves it in the mailbox.
    @inline(__always)
    private mutating func arrive(rank: Int, _ key: MessageKey, network: inout FlowScheduler, queue: inout EventQueue) {
        let entry = mailboxFind(rank: rank, key)
        if let v = entry.value, v >= 0 {
            mailboxRemove(rank: rank, entry)
            advance(v, network: &network, queue: &queue)
        } else {
            mailboxSet(rank: rank, key, (entry.value ?? 0) - 1, entry)
        }
    }
}
