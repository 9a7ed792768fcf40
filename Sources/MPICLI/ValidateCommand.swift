import ArgumentParser
import CLICommon
import Foundation
import Studies
import TreeCore

/// `treeattn-mpi validate`: measured MPI decode runs against the simulator's predictions from a calibrated cluster
/// file, on shared memory and on a rate-limited network emulated in a network namespace (`ValidationCampaign`,
/// `ValidationDocument`). Not itself an MPI program: it launches `mpirun` for every calibration and run.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract:
            "Run Tree and Ring decode under mpirun over a grid, predict each point with the simulator, write the comparison.",
        discussion: """
            For each network and rank count: `treeattn-mpi calibrate` writes a cluster file, then every (N, method) \
            point runs `treeattn-mpi attention --random` (decode: one query) with --repeat runs after a warm-up, and \
            the simulator predicts it from the cluster file (algorithm3: tree:recursive-doubling, Open MPI's small \
            all-reduce; binary: tree-reduce; ring: ring-sendrecv). The netns network is created and removed by this \
            command (needs root): a namespace whose loopback is rate-limited with tc tbf, Open MPI forced to TCP on it. \
            The two-tier network (--networks two-tier) makes --hosts hosts as namespaces joined by veth pairs through \
            a bridge, shared memory inside a host and TCP over --two-tier-rate links between hosts; its methods \
            compare the two-level tree (one merge per host, then across hosts) with the flat tree, Open MPI's \
            all-reduce and the ring.
            Writes OUT (markdown), and OUT's .csv, .svg and .json next to it, all or nothing.
            """)

    @Option(help: "Markdown report to write (with .csv, .svg and .json beside it).") var out = "docs/validation.md"
    @Option(help: "Networks: shm (shared memory), netns (emulated, rate-limited loopback), two-tier (emulated hosts).")
    var networks = "shm,netns"
    @Option(help: "Rank counts.") var ranks = "2,4,8"
    @Option(help: "Key counts N for shared memory.") var keys = "16384,65536,262144,1048576,4194304"
    @Option(help: "Key counts N for the emulated network (ring traffic crosses one 1 Gbit/s queue).") var netnsKeys =
        "16384,65536,262144,1048576"
    @Option(help: "Methods: algorithm3, binary, ring.") var methods = "algorithm3,binary,ring"
    @Option(help: "Query heads (Fig. 3's 16 heads scaled down to fit).") var heads = 2
    @Option(help: "Head dim.") var headDim = 16
    @Option(help: "Timed runs per point (after one warm-up).") var repeats = 3
    @Option(help: "Rate of the emulated network (tc tbf syntax).") var rate = "1gbit"
    @Option(help: "Two tiers: hosts (every rank count a multiple of it).") var hosts = 2
    @Option(help: "Two tiers: key counts N.") var twoTierKeys = "4096,16384,65536,262144"
    @Option(help: "Two tiers: methods (two-level, flat, binary, algorithm3, ring).") var twoTierMethods =
        "two-level,flat,algorithm3,ring"
    @Option(help: "Two tiers: rate of each host's link, each way (tc tbf syntax).") var twoTierRate = "100mbit"
    @Flag(help: "Calibrate with the decode kernel's curve over shard sizes (calibrate --kernel-curve).")
    var kernelCurve = false
    @Option(help: "The treeattn-mpi binary to launch (default: this one).") var binary: String?

    /// The campaign these options describe.
    func campaign() throws -> ValidationCampaign {
        var c = ValidationCampaign(binary: binary ?? CommandLine.arguments[0])
        c.networks = try parseList(networks, "--networks") { name in
            guard let network = ValidationCampaign.Network(rawValue: name) else {
                throw CLIError("--networks: unknown network '\(name)' (shm, netns, two-tier)")
            }
            return network
        }
        (c.ranks, c.keys, c.netnsKeys) = (
            try parseList(ranks, "--ranks", parseCount), try parseList(keys, "--keys", parseCount),
            try parseList(netnsKeys, "--netns-keys", parseCount)
        )
        (c.methods, c.heads, c.headDim, c.repeats, c.rate) = (
            try parseList(methods, "--methods") { $0 }, heads, headDim, repeats, rate
        )
        (c.hosts, c.twoTierRate, c.kernelCurve) = (hosts, twoTierRate, kernelCurve)
        (c.twoTierKeys, c.twoTierMethods) = (
            try parseList(twoTierKeys, "--two-tier-keys", parseCount),
            try parseList(twoTierMethods, "--two-tier-methods") { $0 }
        )
        guard (2...64).contains(hosts),
            c.ranks.allSatisfy({ $0 >= hosts && $0 % hosts == 0 }) || !c.networks.contains(.twoTier)
        else { throw CLIError("--hosts must be in 2...64 and divide every --ranks count for the two-tier network") }
        return c
    }

    func validate() throws { _ = try campaign() }

    func run() throws {
        let folder = (out as NSString).deletingLastPathComponent
        let base = ((out as NSString).lastPathComponent as NSString).deletingPathExtension
        let sibling = { (ext: String) in (folder.isEmpty ? "" : folder + "/") + base + "." + ext }
        let (csvPath, svgPath, jsonPath) = (sibling("csv"), sibling("svg"), sibling("json"))
        let outputs = try AtomicOutputs([out, csvPath, svgPath, jsonPath])
        defer { outputs.discard() }
        let work = NSTemporaryDirectory() + "treeattn-validate-\(getpid())"
        try createFolder(work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let c = try campaign()
        let points = try c.run(in: work, say: { FileHandle.standardError.write(Data("validate: \($0)\n".utf8)) })
        var document = ValidationDocument(
            points: points,
            command: "treeattn-mpi validate " + CommandLine.arguments.dropFirst(2).joined(separator: " "),
            heads: heads, headDim: headDim, repeats: repeats, rate: rate,
            svgName: (svgPath as NSString).lastPathComponent)
        (document.hosts, document.twoTierRate) = (hosts, twoTierRate)
        try outputs.write(Array(document.markdown().utf8), to: out)
        try outputs.write(Array(document.csv().utf8), to: csvPath)
        try outputs.write(Array(document.svg().utf8), to: svgPath)
        try outputs.write(try document.json() + "\n", to: jsonPath)
        try outputs.commit()
        print(document.headline())
    }
}
