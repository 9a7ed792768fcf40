/// Runs rank programs on a network: ranks map to GPU nodes, sends become flows in the `FlowScheduler`, receives
/// match messages by (phase, source, tag). Programs are run as consecutive phases: a rank starts phase k+1 as soon
/// as all its own lanes of phase k are done (no global barrier).
public final class Executor: EventHandler {
    public let simulation: Simulation
    public let flows: FlowScheduler
    /// Network node of each rank.
    public let devices: [Int]
    /// Record every transfer and compute interval (for traces and breakdowns). Off for large benchmarks.
    public var recording: Bool
    /// When queued messages on a channel may start.
    public var pacing: ChannelPacing
    /// Software overhead per message (e.g. a protocol step's fixed cost): the message enters the network this long
    /// after it is started; its channel is held meanwhile. Zero (idealised) by default.
    public var messageOverhead: SimTime = .zero

    private var target: Int32 = -1
    private var phases: [RankProgram] = []
    /// The phases boxed, to call `operation` on the hot path without copying the existential (`phaseBoxes` keeps
    /// the boxes alive).
    private final class ProgramBox {
        let program: RankProgram
        init(_ program: RankProgram) { self.program = program }
    }
    private var phaseBoxes: [ProgramBox] = []
    private var phaseRefs: [Unmanaged<ProgramBox>] = []

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
    private struct MessageKey { var phase: Int32; var source: Int32; var tag: Int64 }
    private var mailbox = IndexTable()
    // Channels, keyed by (source, destination, channel); each caches its network route.
    private var channelIndex = IndexTable()
    private var channelBusy: [Bool] = []
    private var channelRoute: [Int32] = []
    /// FIFO of messages waiting for each channel, linked through `mNext` (-1: empty / end).
    private var channelHead: [Int32] = [], channelTail: [Int32] = []
    // Messages in flight.
    private var mSource: [Int32] = [], mDestination: [Int32] = [], mChannel: [Int32] = [], mNext: [Int32] = []
    private var mKey: [MessageKey] = [], mBytes: [Double] = [], mStart: [SimTime] = [], mTransmitted: [SimTime] = []
    private var mProcess: [Int32] = [], mGeneration: [UInt32] = []
    private var freeMessages: [Int32] = []
    private var messageCount = 0
    private var lastActivity = SimTime.zero

    private var transfers: [TransferRecord] = []
    private var activities: [ActivityRecord] = []

    public init(simulation: Simulation, flows: FlowScheduler, devices: [Int], recording: Bool = false,
                pacing: ChannelPacing = .backToBack) {
        self.simulation = simulation
        self.flows = flows
        self.devices = devices
        self.recording = recording
        self.pacing = pacing
        let p = devices.count
        rankPhase = [Int32](repeating: 0, count: p)
        rankActive = [Int32](repeating: 0, count: p)
        rankFinish = [SimTime](repeating: .zero, count: p)
        bytesSent = [Double](repeating: 0, count: p)
        target = simulation.register(self)
        flows.executor = Unmanaged.passUnretained(self)
    }

    /// Runs the phases to completion and returns the result. Throws if a program deadlocks (a receive without a
    /// matching send) or sends to a rank outside the program.
    public func run(_ phases: [RankProgram]) throws -> ExecutionResult {
        let p = devices.count
        for (i, phase) in phases.enumerated() where phase.ranks != p {
            throw SimulatorError.invalidArgument("phase \(i) is written for \(phase.ranks) ranks, the executor has \(p)")
        }
        self.phases = phases
        phaseBoxes = phases.map(ProgramBox.init)
        phaseRefs = phaseBoxes.map { Unmanaged.passUnretained($0) }
        let startEvents = simulation.eventsHandled
        for r in 0..<p { enterPhase(rank: r, phase: 0) }
        simulation.run()
        for r in 0..<p where Int(rankPhase[r]) < phases.count {
            let waiting = mailbox.first(where: { key, value in key.a >> 32 == UInt64(r) && value >= 0 })
            let detail = waiting.map { " (waits for tag \(Int64(bitPattern: $0.key.c)) from rank \(Int32(truncatingIfNeeded: $0.key.b)))" } ?? ""
            throw SimulatorError.invalidArgument("program deadlocked: rank \(r) stuck in phase \(rankPhase[r])\(detail)")
        }
        let makespan = max(rankFinish.max() ?? .zero, lastActivity)
        return ExecutionResult(makespan: makespan, rankFinish: rankFinish, events: simulation.eventsHandled - startEvents,
                               messages: messageCount, bytesSent: bytesSent, bytesPerLinkClass: flows.bytesPerLinkClass,
                               transfers: transfers, activities: activities)
    }

    private func enterPhase(rank r: Int, phase: Int) {
        var phase = phase
        while phase < phases.count {
            let lanes = phases[phase].lanes(rank: r)
            if lanes > 0 {
                rankPhase[r] = Int32(phase)
                rankActive[r] = Int32(lanes)
                for lane in 0..<lanes {
                    let proc = newProcess(rank: r, lane: lane, phase: phase)
                    advance(proc)
                }
                return
            }
            phase += 1
        }
        rankPhase[r] = Int32(phases.count)
        rankFinish[r] = simulation.now
    }

    private func newProcess(rank: Int, lane: Int, phase: Int) -> Int32 {
        if let p = freeProcesses.popLast() {
            pRank[Int(p)] = Int32(rank); pLane[Int(p)] = Int32(lane); pStep[Int(p)] = 0; pPhase[Int(p)] = Int32(phase)
            pGeneration[Int(p)] &+= 1; pOutstanding[Int(p)] = 0; pWaitingSends[Int(p)] = false
            return p
        }
        pRank.append(Int32(rank)); pLane.append(Int32(lane)); pStep.append(0); pPhase.append(Int32(phase))
        pGeneration.append(0); pOutstanding.append(0); pWaitingSends.append(false)
        return Int32(pRank.count - 1)
    }

    @inline(__always)
    private static func mailboxKey(rank: Int, _ key: MessageKey) -> IndexTable.Key {
        IndexTable.Key(a: UInt64(UInt32(truncatingIfNeeded: rank)) << 32 | UInt64(UInt32(bitPattern: key.phase)),
                       b: UInt64(UInt32(bitPattern: key.source)), c: UInt64(bitPattern: key.tag))
    }

    private func advance(_ proc: Int32) {
        let i = Int(proc)
        let rank = Int(pRank[i]), lane = Int(pLane[i]), phase = Int(pPhase[i])
        let program = phaseRefs[phase]
        while true {
            let step = Int(pStep[i])
            guard let op = program._withUnsafeGuaranteedRef({ $0.program.operation(rank: rank, lane: lane, step: step) }) else {
                finish(proc)
                return
            }
            pStep[i] += 1
            switch op {
            case .send(let to, let bytes, let tag, let channel):
                precondition(to >= 0 && to < devices.count, "send to rank \(to) outside 0..<\(devices.count)")
                post(from: rank, to: to, bytes: bytes, key: MessageKey(phase: Int32(phase), source: Int32(rank), tag: tag),
                     channel: channel, process: proc)
            case .waitSends:
                if pOutstanding[i] > 0 { pWaitingSends[i] = true; return }
            case .recv(let from, let tag):
                let key = Self.mailboxKey(rank: rank, MessageKey(phase: Int32(phase), source: Int32(from), tag: tag))
                if let v = mailbox[key], v < 0 {
                    if v == -1 { mailbox.remove(key) } else { mailbox.insert(key, v + 1) }
                    continue
                }
                mailbox.insert(key, proc)
                return
            case .compute(let duration, let label), .overhead(let duration, let label),
                 .modelledCommunication(let duration, let label):
                if duration.picoseconds <= 0 { continue }
                if recording {
                    let kind: ActivityRecord.Kind
                    switch op {
                    case .compute: kind = .compute
                    case .overhead: kind = .overhead
                    default: kind = .communication
                    }
                    activities.append(ActivityRecord(rank: rank, kind: kind, label: label, start: simulation.now,
                                                     end: simulation.now + duration))
                }
                simulation.schedule(at: simulation.now + duration, target: target, kind: 0, payload: Int64(proc))
                return
            }
        }
    }

    private func finish(_ proc: Int32) {
        let rank = Int(pRank[Int(proc)])
        let phase = Int(pPhase[Int(proc)])
        freeProcesses.append(proc)
        rankActive[rank] -= 1
        if rankActive[rank] == 0 { enterPhase(rank: rank, phase: phase + 1) }
    }

    public func handle(_ event: Event, in simulation: Simulation) {
        if event.kind == 1 { inject(Int32(event.payload)) } else { advance(Int32(event.payload)) }
    }

    // MARK: messages

    private func post(from: Int, to: Int, bytes: Double, key: MessageKey, channel: Int32, process: Int32) {
        let ck = IndexTable.Key(a: UInt64(UInt32(truncatingIfNeeded: from)) << 32 | UInt64(UInt32(truncatingIfNeeded: to)),
                                b: UInt64(UInt32(bitPattern: channel)), c: 0)
        let c: Int32
        if let existing = channelIndex[ck] { c = existing } else {
            c = Int32(channelBusy.count)
            channelIndex.insert(ck, c)
            channelBusy.append(false)
            channelHead.append(-1)
            channelTail.append(-1)
            do {
                channelRoute.append(try flows.routeID(devices[from], devices[to]))
            } catch {
                preconditionFailure("route between ranks failed after validation: \(error)")
            }
        }
        let m: Int32
        if let reused = freeMessages.popLast() {
            m = reused
            mSource[Int(m)] = Int32(from); mDestination[Int(m)] = Int32(to); mChannel[Int(m)] = c
            mKey[Int(m)] = key; mBytes[Int(m)] = bytes
            mProcess[Int(m)] = process; mGeneration[Int(m)] = pGeneration[Int(process)]
        } else {
            m = Int32(mSource.count)
            mSource.append(Int32(from)); mDestination.append(Int32(to)); mChannel.append(c); mNext.append(-1)
            mKey.append(key); mBytes.append(bytes); mStart.append(.zero); mTransmitted.append(.zero)
            mProcess.append(process); mGeneration.append(pGeneration[Int(process)])
        }
        pOutstanding[Int(process)] += 1
        messageCount += 1
        bytesSent[from] += bytes
        if channelBusy[Int(c)] {
            mNext[Int(m)] = -1
            let tail = channelTail[Int(c)]
            if tail < 0 { channelHead[Int(c)] = m } else { mNext[Int(tail)] = m }
            channelTail[Int(c)] = m
        } else {
            start(m)
        }
    }

    private func start(_ m: Int32) {
        channelBusy[Int(mChannel[Int(m)])] = true
        if messageOverhead.picoseconds > 0 {
            simulation.schedule(at: simulation.now + messageOverhead, target: target, kind: 1, payload: Int64(m))
        } else {
            inject(m)
        }
    }

    private func inject(_ m: Int32) {
        mStart[Int(m)] = simulation.now
        flows.send(route: channelRoute[Int(mChannel[Int(m)])], bytes: mBytes[Int(m)], context: Int64(m))
    }

    private func release(channel c: Int32) {
        let next = channelHead[Int(c)]
        if next >= 0 {
            let after = mNext[Int(next)]
            channelHead[Int(c)] = after
            if after < 0 { channelTail[Int(c)] = -1 }
            start(next)
        } else {
            channelBusy[Int(c)] = false
        }
    }

    func transmitted(_ m: Int32) {
        mTransmitted[Int(m)] = simulation.now
        if pacing == .backToBack { release(channel: mChannel[Int(m)]) }
    }

    func delivered(_ m: Int32) {
        let i = Int(m)
        let now = simulation.now
        lastActivity = max(lastActivity, now)
        if recording {
            transfers.append(TransferRecord(sourceRank: Int(mSource[i]), destinationRank: Int(mDestination[i]),
                                            bytes: mBytes[i], start: mStart[i], transmitted: mTransmitted[i], delivered: now))
        }
        let channel = mChannel[i]
        let rank = Int(mDestination[i])
        let key = Self.mailboxKey(rank: rank, mKey[i])
        let sender = mProcess[i], generation = mGeneration[i]
        freeMessages.append(m)
        if pGeneration[Int(sender)] == generation {
            pOutstanding[Int(sender)] -= 1
            if pOutstanding[Int(sender)] == 0 && pWaitingSends[Int(sender)] {
                pWaitingSends[Int(sender)] = false
                advance(sender)
            }
        }
        if pacing == .afterDelivery { release(channel: channel) }
        let v = mailbox[key]
        if let v, v >= 0 {
            mailbox.remove(key)
            advance(v)
        } else {
            mailbox.insert(key, (v ?? 0) - 1)
        }
    }
}
