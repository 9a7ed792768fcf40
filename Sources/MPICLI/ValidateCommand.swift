import ArgumentParser
import CLICommon
import Foundation
import Simulator
import Studies
import TreeCore

/// `treeattn-mpi validate`: measured MPI decode runs against the simulator's predictions from a calibrated cluster
/// file, on shared memory and on a rate-limited network emulated in a network namespace. Not itself an MPI program:
/// it launches `mpirun` for every calibration and run.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run Tree and Ring decode under mpirun over a grid, predict each point with the simulator, write the comparison.",
        discussion: """
            For each network and rank count: `treeattn-mpi calibrate` writes a cluster file, then every (N, method) \
            point runs `treeattn-mpi attention --random` (decode: one query) with --repeat runs after a warm-up, and \
            the simulator predicts it from the cluster file (algorithm3: tree:recursive-doubling, Open MPI's small \
            all-reduce; binary: tree-reduce; ring: ring-sendrecv). The netns network is created and removed by this \
            command (needs root): a namespace whose loopback is rate-limited with tc tbf, Open MPI forced to TCP on it.
            Writes OUT (markdown), and OUT's .csv and .svg next to it, all or nothing.
            """)

    @Option(help: "Markdown report to write (with .csv and .svg beside it).") var out = "docs/validation.md"
    @Option(help: "Networks: shm (shared memory) and/or netns (emulated, rate-limited loopback).") var networks = "shm,netns"
    @Option(help: "Rank counts.") var ranks = "2,4,8"
    @Option(help: "Key counts N for shared memory.") var keys = "16384,65536,262144,1048576,4194304"
    @Option(help: "Key counts N for the emulated network (ring traffic crosses one 1 Gbit/s queue).") var netnsKeys = "16384,65536,262144,1048576"
    @Option(help: "Methods: algorithm3, binary, ring.") var methods = "algorithm3,binary,ring"
    @Option(help: "Query heads (Fig. 3's 16 heads scaled down to fit).") var heads = 2
    @Option(help: "Head dim.") var headDim = 16
    @Option(help: "Timed runs per point (after one warm-up).") var repeats = 3
    @Option(help: "Rate of the emulated network (tc tbf syntax).") var rate = "1gbit"
    @Option(help: "The treeattn-mpi binary to launch (default: this one).") var binary: String?

    func run() throws {
        let me = binary ?? CommandLine.arguments[0]
        let folder = (out as NSString).deletingLastPathComponent
        let base = ((out as NSString).lastPathComponent as NSString).deletingPathExtension
        let csvPath = (folder.isEmpty ? "" : folder + "/") + base + ".csv", svgPath = (folder.isEmpty ? "" : folder + "/") + base + ".svg"
        let outputs = try AtomicOutputs([out, csvPath, svgPath])
        defer { outputs.discard() }
        let work = NSTemporaryDirectory() + "treeattn-validate-\(getpid())"
        try createFolder(work)
        defer { try? FileManager.default.removeItem(atPath: work) }

        var points: [ValidationPoint] = []
        for network in try parseList(networks, "--networks", { name -> String in
            guard ["shm", "netns"].contains(name) else { throw CLIError("--networks: unknown network '\(name)' (shm, netns)") }
            return name
        }) {
            let namespace = network == "netns" ? try NetworkNamespace(rate: rate) : nil
            defer { namespace?.remove() }
            let prefix = namespace?.prefix ?? []
            let mca = network == "netns" ? ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"] : []
            let grid = try parseList(network == "netns" ? netnsKeys : keys, "--keys") { try parseCount($0) }
            for p in try parseList(ranks, "--ranks", { try parseCount($0) }) {
                let launch = prefix + ["mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", "\(p)"] + mca + [me]
                let calibration = work + "/\(network)-\(p).yaml"
                say("\(network), \(p) ranks: calibrating")
                try Self.execute(launch + ["calibrate", "--quiet", "--out", calibration, "--heads", "\(heads)", "--head-dim", "\(headDim)",
                                           "--max-message", network == "netns" ? "\(4 << 20)" : "\(16 << 20)"])
                let cluster = try ClusterFile.load(path: calibration)
                for n in grid {
                    for method in try parseList(methods, "--methods", { $0 }) {
                        say("\(network), \(p) ranks, N = \(n), \(method)")
                        let report = work + "/report.json"
                        try Self.execute(launch + ["attention", "--random", "--seq-q", "1", "--seq-k", "\(n)", "--heads", "\(heads)",
                                                   "--head-dim", "\(headDim)", "--seed", "1", "--reduction", method,
                                                   "--repeat", "\(repeats)", "--warmup", "1", "--report", report])
                        var point = try ValidationPoint(network: network, ranks: p, keys: n, method: method, report: report)
                        try point.predict(cluster: cluster, heads: heads, headDim: headDim)
                        points.append(point)
                        try? FileManager.default.removeItem(atPath: report)
                    }
                }
            }
        }
        let document = ValidationDocument(points: points, command: "treeattn-mpi validate " + CommandLine.arguments.dropFirst(2).joined(separator: " "),
                                          heads: heads, headDim: headDim, repeats: repeats, rate: rate, svgName: (svgPath as NSString).lastPathComponent)
        try outputs.write(Array(document.markdown().utf8), to: out)
        try outputs.write(Array(document.csv().utf8), to: csvPath)
        try outputs.write(Array(document.svg().utf8), to: svgPath)
        try outputs.commit()
        print(document.headline())
    }

    func say(_ line: String) { FileHandle.standardError.write(Data("validate: \(line)\n".utf8)) }

    /// Runs a command; a failure is a one-line error with its last stderr line.
    static func execute(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw CLIError("\(arguments.prefix(8).joined(separator: " ")) ... failed (exit \(process.terminationStatus)): \(last)")
        }
    }
}

/// A network namespace whose loopback is rate-limited by a token bucket (`tc qdisc ... tbf`), created for one
/// validation and removed after it. All traffic stays on the namespace's own loopback.
struct NetworkNamespace {
    let name: String
    var prefix: [String] { ["ip", "netns", "exec", name] }

    init(rate: String) throws {
        name = "treeattn-validate-\(getpid())"
        try ValidateCommand.execute(["ip", "netns", "add", name])
        do {
            try ValidateCommand.execute(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
            // The burst must exceed the loopback MTU (65536 bytes) or packets are dropped.
            try ValidateCommand.execute(["ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
                                         "rate", rate, "burst", "256kb", "latency", "400ms"])
        } catch {
            remove()
            throw error
        }
    }

    func remove() { try? ValidateCommand.execute(["ip", "netns", "del", name]) }
}
