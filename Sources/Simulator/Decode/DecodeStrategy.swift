/// How one decode step is distributed over p GPUs that each hold N/p tokens of K/V (except `singleGPU`).
public enum DecodeStrategy: Equatable, Sendable, CustomStringConvertible {
    /// The paper's Algorithm 3: local flash-decode partial, then all-reduce of the max (b n_h values), of the
    /// numerator (b d values) and of the denominator (b n_h values), fp32 (f64 for f64 workloads), with the given
    /// collective algorithm.
    case tree(collective: CollectiveAlgorithm)
    /// Ring Attention: K/V chunks travel around the ring. `overlap`: p-1 hops overlapped with compute;
    /// no overlap: p sequential compute-then-send steps (the JAX baseline, p hops).
    case ring(overlap: Bool)
    /// Ring Attention as `treeattn-mpi` runs it: compute, then K and V passed on (two messages, sent back to back; the
    /// MPI run's two blocking MPI_Sendrecv calls pay one more latency per hop), p blocks and p-1 hops.
    case ringSendrecv
    /// The partials merged up a pinned `ReductionPlan` by point-to-point messages to rank 0 (a node lives on its
    /// first child's rank), as `treeattn-mpi --reduction binary` does: a reduce, no all-reduce.
    case treeReduce(ReductionPlan.Shape)
    /// Reviewers' alternative: partials (not K/V) pass along the ring, merged at each hop; result on rank p-1.
    case passPartials
    /// Reviewers' alternative (Star Attention style): every rank sends its partial to rank 0, which merges them.
    case gatherToOne
    /// Everything on one GPU (no communication).
    case singleGPU
    /// Pass-Q ring decode (Meta's context parallelism): the batch's queries travel the ring, the partials return to
    /// their owners by all-to-all and are merged there.
    case passQ
    /// Llama 3's all-gather context parallelism for decode: every rank gathers the whole K/V, then decodes alone.
    case allGather

    /// The name `parse(_:)` accepts: "tree" or "tree:ALG", "ring", "ring-sequential", "ring-sendrecv",
    /// "tree-reduce" or "tree-reduce:SHAPE", "pass-partials", "gather", "single", "pass-q", "all-gather".
    public var description: String {
        switch self {
        case .tree(let c): return c == .tree ? "tree" : "tree:\(c)"
        case .ring(let overlap): return overlap ? "ring" : "ring-sequential"
        case .ringSendrecv: return "ring-sendrecv"
        case .treeReduce(let shape): return shape == .binary ? "tree-reduce" : "tree-reduce:\(shape)"
        case .passPartials: return "pass-partials"
        case .gatherToOne: return "gather"
        case .singleGPU: return "single"
        case .passQ: return "pass-q"
        case .allGather: return "all-gather"
        }
    }

    /// The accepted strategy names, for help texts and error messages.
    public static let usage =
        "tree[:COLLECTIVE], ring, ring-sequential, ring-sendrecv, tree-reduce[:SHAPE], pass-partials, gather, single, pass-q, all-gather"

    /// Parses a strategy name (see `usage`; also "ring-no-overlap", "gather-to-one", "single-gpu"). Throws
    /// `SimulatorError.invalidArgument` for an unknown name or reduction shape, `SimulatorError.unsupported` for
    /// `tree:binomial` and `tree:chain` (broadcasts, not all-reduces), and what `CollectiveAlgorithm.parse(_:)` throws
    /// for the algorithm of `tree:ALG`.
    public static func parse(_ text: String) throws -> DecodeStrategy {
        switch text {
        case "tree": return .tree(collective: .tree)
        case "ring": return .ring(overlap: true)
        case "ring-sequential", "ring-no-overlap": return .ring(overlap: false)
        case "ring-sendrecv": return .ringSendrecv
        case "tree-reduce": return .treeReduce(.binary)
        case "pass-partials": return .passPartials
        case "gather", "gather-to-one": return .gatherToOne
        case "single", "single-gpu": return .singleGPU
        case "pass-q": return .passQ
        case "all-gather": return .allGather
        default:
            if text.hasPrefix("tree-reduce:") {
                do { return .treeReduce(try ReductionPlan.parseShape(String(text.dropFirst(12)))) } catch let error
                    as CoreError
                {
                    throw SimulatorError.invalidArgument(error.description)
                }
            }
            if text.hasPrefix("tree:") {
                let algorithm = try CollectiveAlgorithm.parse(String(text.dropFirst(5)))
                if case .binomial = algorithm {
                    throw SimulatorError.unsupported("binomial is a broadcast, not an all-reduce")
                }
                if case .chain = algorithm {
                    throw SimulatorError.unsupported("chain is a broadcast, not an all-reduce")
                }
                return .tree(collective: algorithm)
            }
            throw SimulatorError.invalidArgument("unknown decode strategy '\(text)' (\(usage))")
        }
    }
}

extension DecodeStrategy {
    /// The one registration point: each strategy's program (one file each in `Decode/Strategies/`). Exhaustive on
    /// purpose, so a new case does not compile until it has a program.
    var program: DecodeProgram {
        switch self {
        case .tree(let collective): return TreeDecode(collective: collective)
        case .ring(let overlap): return RingDecode(overlap: overlap)
        case .ringSendrecv: return RingDecode(overlap: false, chunkComesHome: false, messagesPerChunk: 2)
        case .treeReduce(let shape): return TreeReduceDecode(shape: shape)
        case .passPartials: return PassPartialsDecode()
        case .gatherToOne: return GatherDecode()
        case .singleGPU: return SingleGPUDecode()
        case .passQ: return PassQDecode()
        case .allGather: return AllGatherDecode()
        }
    }
}

extension DecodeStrategy: Codable {
    /// Decodes a strategy from its name (`parse(_:)`).
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        do { self = try DecodeStrategy.parse(name) } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    /// Encodes the strategy as its name (`description`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
