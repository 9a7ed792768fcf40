import ArgumentParser
import CLICommon
import Distributed
import Foundation
import Studies
import TreeCore

/// `mpirun -np P treeattn-mpi calibrate --out this-machine.yaml`: measures the ranks it runs on and writes a cluster
/// file for `treeattn simulate decode --cluster this-machine.yaml`.
struct CalibrateCommand: ParsableCommand, MemoryBoundedCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract:
            "Measure the MPI ranks (network, memory, GEMM, decode kernel, collective call) and write a cluster file.",
        discussion: """
            Run under mpirun with the ranks and network of the runs to predict (every rank measures while the others \
            run too). The cluster file describes the ranks as CPU devices (kind: cpu) on a star: each rank's uplink \
            and downlink at the ping-pong bandwidth, and one shared core link at the bandwidth all ranks reached \
            together (a shared memory bus, or one shaped queue), with the fitted latency; `overheads:` holds the \
            decode kernel's fixed cost and efficiency and the fixed cost of one collective call. Ranks on several hosts \
            (as MPI_Comm_split_type finds them; each host holding as many consecutive ranks) give two tiers: one such \
            star per host, joined by each host's uplink and downlink to a core switch at the bandwidth one host's \
            ranks reached sending across at once, with the latency measured between hosts.
            """)

    @Option(help: "Cluster file to write (YAML), by rank 0.") var out: String
    @Option(help: "A name for the cluster.") var name: String?
    @Option(help: "Query heads of the decode kernel measured.") var heads = 16
    @Option(help: "Head dim of the decode kernel measured.") var headDim = 32
    @Option(help: "Keys per rank of the large decode measured.") var decodeKeys = 1 << 17
    @Option(help: "Largest ping-pong message, bytes.") var maxMessage = 16 << 20
    @Flag(
        help:
            "Also measure the decode kernel at shard sizes 2^11..2^21 keys and write them as decode_kernel: (the simulator then times flash-decode from them; not the default: docs/distributed.md)."
    ) var kernelCurve = false
    @Flag(help: "No progress lines.") var quiet = false
    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        guard (1...1024).contains(heads), (1...1024).contains(headDim) else {
            throw CLIError("--heads and --head-dim must be in 1...1024")
        }
        guard (64...(1 << 24)).contains(decodeKeys) else { throw CLIError("--decode-keys must be in 64...\(1 << 24)") }
        guard (1024...(1 << 30)).contains(maxMessage) else {
            throw CLIError("--max-message must be in 1024...\(1 << 30)")
        }
    }

    func run() throws {
        try withCommunicator { comm in
            let outputs: AtomicOutputs? = try comm.agree { comm.rank == 0 ? try AtomicOutputs([out]) : nil }
            defer { outputs?.discard() }
            try comm.agree {
                try MemoryBudget.current.check(
                    product: [decodeKeys, heads, 2 * headDim + 1, 8, 2], for: "the decode kernel measured")
                try MemoryBudget.current.check(product: [maxMessage, 3], for: "the ping-pong buffers")
            }
            let say: (String) -> Void = { line in
                if comm.rank == 0 && !quiet { FileHandle.standardError.write(Data("calibrate: \(line)\n".utf8)) }
            }
            let c = try MachineCalibration.measure(
                comm, heads: heads, headDim: headDim, decodeKeys: decodeKeys,
                maxMessage: maxMessage, kernelCurve: kernelCurve, progress: say)
            try comm.agree {
                guard let outputs else { return }
                let cluster = CalibratedCluster(
                    CalibratedCluster.Measurements(c), name: name ?? "calibrated \(c.ranks) ranks")
                let call = try cluster.collectiveCall()  // one simulation, for the file and the summary
                try outputs.write(Array(try cluster.yaml(collectiveCallUs: call).utf8), to: out)
                try outputs.commit()
                if !quiet { print(cluster.summary(collectiveCallUs: call)) }
            }
        }
    }
}

extension CalibratedCluster.Measurements {
    /// The numbers a calibration measured under MPI, as the study takes them.
    init(_ c: MachineCalibration) {
        self.init()
        (ranks, pingPong, latency, bandwidth, aggregateBandwidth) = (
            c.ranks, c.pingPong.map { ($0.bytes, $0.seconds) }, c.latency,
            c.bandwidth, c.aggregateBandwidth
        )
        (memoryBandwidth, gemmFlops, decodeFixed, decodeBandwidth) = (
            c.memoryBandwidth, c.gemmFlops, c.decodeFixed, c.decodeBandwidth
        )
        decodeCurve = c.decodeCurve
        (hosts, interPingPong, interLatency, interBandwidth, uplinkBandwidth) = (
            c.hosts, c.interPingPong.map { ($0.bytes, $0.seconds) }, c.interLatency, c.interBandwidth,
            c.uplinkBandwidth
        )
        (smallAllreduce, memoryBytes) = (c.smallAllreduce, c.memoryBytes)
    }
}
