/// How a switch or intermediate node forwards a message arriving on a link of a given class.
///
/// Closed forms for one message of n bytes over h identical hops (latency a, bandwidth B), no contention:
/// - store-and-forward: h (a + n/B) (the whole message is received before it is sent on)
/// - cut-through: h a + n/B (bits are forwarded as they arrive)
/// - packetised with MTU m: h a + n/B + (h - 1) min(m, n)/B (each intermediate node waits for one full packet)
public enum Forwarding: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The whole message is received before it is sent on: h (a + n/B). A link of this class ends a route segment.
    case storeAndForward
    /// Bits are forwarded as they arrive: h a + n/B.
    case cutThrough
    /// Packets of `mtuBytes` bytes: an intermediate node sends a packet on once it has fully arrived, adding
    /// (h - 1) min(m, n)/B.
    case packetised(mtuBytes: Int)

    /// The mode as outputs show it: "store-and-forward", "cut-through" or "packetised(mtu M B)".
    public var description: String {
        switch self {
        case .storeAndForward: return "store-and-forward"
        case .cutThrough: return "cut-through"
        case .packetised(let m): return "packetised(mtu \(m) B)"
        }
    }

    /// Parses "store-and-forward", "cut-through" or "packetised" (the latter needs `mtuBytes`).
    public static func parse(_ text: String, mtuBytes: Int?) throws -> Forwarding {
        switch text {
        case "store-and-forward": return .storeAndForward
        case "cut-through": return .cutThrough
        case "packetised", "packetized":
            guard let m = mtuBytes else { throw SimulatorError.cluster("forwarding 'packetised' needs mtu_bytes") }
            guard m > 0 else { throw SimulatorError.cluster("mtu_bytes must be > 0, got \(m)") }
            return .packetised(mtuBytes: m)
        default:
            throw SimulatorError.cluster("unknown forwarding '\(text)' (store-and-forward, cut-through, packetised)")
        }
    }
}
