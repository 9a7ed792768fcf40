/// A report as data (Studies' grids split over MPI ranks send their reports to rank 0 this way): every field but
/// `execution` (the recorded run, for traces; decoded as nil). Times are integer picoseconds and numbers round-trip
/// exactly, so a decoded report renders the same bytes as the original.
extension DecodeReport: Codable {
    enum CodingKeys: String, CodingKey {
        case strategy, gpus, step, latency, compute, communication, overhead, idle, bytesPerLinkClass
        case elementsSentPerDevice, paperVolumeElements, peakMemoryElements, peakMemoryBytes, paperPeakMemoryElements
        case fitsInMemory, speedupVsRing, events, messages, notes, forwardLatency, backwardLatency
        case backwardElementsSentPerDevice, paperBackwardVolumeElements
    }

    /// Bytes carried by one link class (`bytesPerLinkClass`'s tuples, as data).
    struct LinkBytes: Codable {
        var name: String
        var bytes: Double
    }

    /// Decodes what `encode(to:)` wrote; `execution` is nil.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try c.decode(String.self, forKey: .strategy)
        gpus = try c.decode(Int.self, forKey: .gpus)
        step = try c.decode(DecodeStep.self, forKey: .step)
        latency = try c.decode(SimTime.self, forKey: .latency)
        compute = try c.decode(SimTime.self, forKey: .compute)
        communication = try c.decode(SimTime.self, forKey: .communication)
        overhead = try c.decode(SimTime.self, forKey: .overhead)
        idle = try c.decode(SimTime.self, forKey: .idle)
        bytesPerLinkClass = try c.decode([LinkBytes].self, forKey: .bytesPerLinkClass).map { ($0.name, $0.bytes) }
        elementsSentPerDevice = try c.decode(Double.self, forKey: .elementsSentPerDevice)
        paperVolumeElements = try c.decodeIfPresent(Double.self, forKey: .paperVolumeElements)
        peakMemoryElements = try c.decode(Double.self, forKey: .peakMemoryElements)
        peakMemoryBytes = try c.decode(Double.self, forKey: .peakMemoryBytes)
        paperPeakMemoryElements = try c.decodeIfPresent(Double.self, forKey: .paperPeakMemoryElements)
        fitsInMemory = try c.decode(Bool.self, forKey: .fitsInMemory)
        speedupVsRing = try c.decodeIfPresent(Double.self, forKey: .speedupVsRing)
        events = try c.decode(Int.self, forKey: .events)
        messages = try c.decode(Int.self, forKey: .messages)
        notes = try c.decode([String].self, forKey: .notes)
        forwardLatency = try c.decodeIfPresent(SimTime.self, forKey: .forwardLatency)
        backwardLatency = try c.decodeIfPresent(SimTime.self, forKey: .backwardLatency)
        backwardElementsSentPerDevice = try c.decodeIfPresent(Double.self, forKey: .backwardElementsSentPerDevice)
        paperBackwardVolumeElements = try c.decodeIfPresent(Double.self, forKey: .paperBackwardVolumeElements)
        execution = nil
    }

    /// Encodes every field but `execution`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(gpus, forKey: .gpus)
        try c.encode(step, forKey: .step)
        try c.encode(latency, forKey: .latency)
        try c.encode(compute, forKey: .compute)
        try c.encode(communication, forKey: .communication)
        try c.encode(overhead, forKey: .overhead)
        try c.encode(idle, forKey: .idle)
        try c.encode(bytesPerLinkClass.map { LinkBytes(name: $0.name, bytes: $0.bytes) }, forKey: .bytesPerLinkClass)
        try c.encode(elementsSentPerDevice, forKey: .elementsSentPerDevice)
        try c.encodeIfPresent(paperVolumeElements, forKey: .paperVolumeElements)
        try c.encode(peakMemoryElements, forKey: .peakMemoryElements)
        try c.encode(peakMemoryBytes, forKey: .peakMemoryBytes)
        try c.encodeIfPresent(paperPeakMemoryElements, forKey: .paperPeakMemoryElements)
        try c.encode(fitsInMemory, forKey: .fitsInMemory)
        try c.encodeIfPresent(speedupVsRing, forKey: .speedupVsRing)
        try c.encode(events, forKey: .events)
        try c.encode(messages, forKey: .messages)
        try c.encode(notes, forKey: .notes)
        try c.encodeIfPresent(forwardLatency, forKey: .forwardLatency)
        try c.encodeIfPresent(backwardLatency, forKey: .backwardLatency)
        try c.encodeIfPresent(backwardElementsSentPerDevice, forKey: .backwardElementsSentPerDevice)
        try c.encodeIfPresent(paperBackwardVolumeElements, forKey: .paperBackwardVolumeElements)
    }
}
