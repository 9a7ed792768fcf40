import Foundation

/// Reads cluster descriptions from YAML (or JSON) with explicit units in key names: `bandwidth_GBps`
/// (GB = 1e9 bytes per second), `bandwidth_Gbps` (1e9 bits per second), `latency_ns`, `latency_us`, `memory_GB`,
/// `hbm_bandwidth_GBps`, `bf16_TFLOPS` (GPUs), `memory_bandwidth_GBps`, `gemm_GFLOPS` (CPU ranks), and the
/// optional `overheads:` (`ClusterOverheads`). Unknown keys are errors. Schema: docs/simulator.md.
public enum ClusterFile {
    /// Loads a file; `.json` files are parsed as JSON, anything else as YAML.
    public static func load(path: String) throws -> Cluster {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw SimulatorError.file(path: path, problem: "cannot read file")
        }
        do {
            return try parse(text, origin: path, json: path.lowercased().hasSuffix(".json"))
        } catch let error as SimulatorError {
            if case .cluster(let message) = error { throw SimulatorError.file(path: path, problem: message) }
            throw error
        }
    }

    /// Parses a description. `origin` names it in error messages.
    public static func parse(_ text: String, origin: String = "cluster", json: Bool = false) throws -> Cluster {
        let root: Any?
        do {
            root = try StructuredText.load(text, json: json)
        } catch let error as CoreError {
            throw SimulatorError.cluster(error.description)
        } catch {
            throw SimulatorError.cluster(
                "\(json ? "JSON" : "YAML") syntax error: \(String(describing: error).split(separator: "\n").first ?? "")"
            )
        }
        var top = try ConfigFields(normalise(root), context: "cluster")
        if top.has("preset") {
            try top.onlyKeys(["name", "preset", "nodes", "gpus", "gpu", "overheads"])
        } else if top.has("fat_tree") {
            try top.onlyKeys(["name", "fat_tree", "gpu", "overheads"])
        } else {
            try top.onlyKeys([
                "name", "gpus", "gpu", "gpus_per_server", "link_classes", "switches", "reducing_switches", "nics",
                "hosts", "links", "overheads",
            ])
        }
        let name = try top.string("name") ?? origin
        let overheads = try top.raw("overheads").map { try ClusterOverheads.parse($0) }
        if let preset = try top.string("preset") {
            let nodes = try top.int("nodes"), gpus = try top.int("gpus")
            if nodes != nil && gpus != nil {
                throw SimulatorError.cluster("cluster: give 'nodes' or 'gpus' with a preset, not both")
            }
            let count = nodes ?? gpus
            let gpuOverride = try top.raw("gpu").map { try gpuSpec($0) }
            if let g = gpuOverride, g.kind != .gpu {
                throw SimulatorError.cluster(
                    "gpu: kind '\(g.kind.rawValue)' does not apply to preset '\(preset)' (a GPU topology); describe the machine's links in a file without 'preset'"
                )
            }
            try top.finish()
            var cluster = try ClusterPreset.parse(preset, count: count).build()
            cluster.name = name == origin ? cluster.name : name
            if let g = gpuOverride { cluster.gpu = g }
            cluster.overheads = overheads
            return cluster
        }
        if let tree = top.raw("fat_tree") {
            var spec = try FatTreeFile.parse(tree)
            let gpu = try top.raw("gpu").map { try gpuSpec($0) } ?? .h100SXM5
            // The servers' NVSwitches reduce in the fabric where the GPU generation has NVLink SHARP (Hopper on).
            spec.nvswitchReduces = (NCCLModel.Architecture(gpuName: gpu.name)?.nvlsEfficiency ?? 0) > 0
            try top.finish()
            var cluster = try spec.build(name: name, gpu: gpu)
            cluster.overheads = overheads
            return cluster
        }
        var net = Network()
        guard let gpuCount = try top.int("gpus") else {
            throw SimulatorError.cluster("cluster: missing 'gpus' (or 'preset')")
        }
        guard (1...ClusterPreset.maxGPUs).contains(gpuCount) else {
            throw SimulatorError.cluster("cluster: 'gpus' must be in 1...\(ClusterPreset.maxGPUs), got \(gpuCount)")
        }
        guard let gpuValue = top.raw("gpu") else { throw SimulatorError.cluster("cluster: missing 'gpu'") }
        let spec = try gpuSpec(gpuValue)
        let perServer = try top.int("gpus_per_server") ?? gpuCount
        guard perServer >= 1 else { throw SimulatorError.cluster("cluster: 'gpus_per_server' must be >= 1") }
        // Rank nodes are named after the device kind: gpu0, gpu1, ... or cpu0, cpu1, ... (network node kind `.gpu`:
        // endpoints that never forward, whatever the device).
        let rankPrefix = spec.kind.rawValue
        let gpus = try (0..<gpuCount).map { try net.addNode("\(rankPrefix)\($0)", kind: .gpu) }
        // `reducing_switches`: those of `switches` that reduce and multicast in the fabric (NVLink SHARP).
        let reducing = Set(try top.stringList("reducing_switches"))
        let switches = try top.stringList("switches")
        if let stray = reducing.subtracting(switches).sorted().first {
            throw SimulatorError.cluster("reducing_switches: '\(stray)' is not one of 'switches'")
        }
        for n in switches { try net.addNode(n, kind: .switch, reduces: reducing.contains(n)) }
        for (key, kind) in [("nics", NetworkNode.Kind.nic), ("hosts", .host)] {
            for n in try top.stringList(key) { try net.addNode(n, kind: kind) }
        }
        guard let classes = top.raw("link_classes") as? [String: Any] else {
            throw SimulatorError.cluster("cluster: missing 'link_classes' mapping (name: {forwarding: ...})")
        }
        for className in classes.keys.sorted() {
            var f = try ConfigFields(classes[className], context: "link_classes.\(className)")
            let forwarding = try Forwarding.parse(f.requiredString("forwarding"), mtuBytes: f.int("mtu_bytes"))
            try f.finish()
            try net.addLinkClass(LinkClass(name: className, forwarding: forwarding))
        }
        guard let links = try top.list("links"), !links.isEmpty else {
            throw SimulatorError.cluster("cluster: missing 'links'")
        }
        for (i, item) in links.enumerated() {
            var f = try ConfigFields(item, context: "links[\(i)]")
            try f.onlyKeys([
                "from", "to", "class", "bandwidth_GBps", "bandwidth_Gbps", "latency_ns", "latency_us", "duplex",
            ])
            func node(_ key: String) throws -> Int {
                let n = try f.requiredString(key)
                guard let id = net.node(named: n) else {
                    let hint =
                        spec.kind == .gpu
                        ? ""
                        : " (the ranks of a \(rankPrefix) cluster are \(rankPrefix)0..\(rankPrefix)\(gpuCount - 1))"
                    throw SimulatorError.cluster("links[\(i)]: unknown node '\(n)' in '\(key)'\(hint)")
                }
                return id
            }
            let from = try node("from"), to = try node("to")
            let className = try f.requiredString("class")
            guard let cls = net.linkClass(named: className) else {
                throw SimulatorError.cluster("links[\(i)]: unknown link class '\(className)'")
            }
            let bandwidth: Double
            switch try f.oneOf(["bandwidth_GBps", "bandwidth_Gbps"]) {
            case "bandwidth_GBps": bandwidth = try f.positive("bandwidth_GBps")! * 1e9
            case "bandwidth_Gbps": bandwidth = try f.positive("bandwidth_Gbps")! * 1e9 / 8
            default: throw SimulatorError.cluster("links[\(i)]: missing 'bandwidth_GBps' (or 'bandwidth_Gbps')")
            }
            let latency: SimTime
            switch try f.oneOf(["latency_ns", "latency_us"]) {
            case "latency_ns": latency = .nanoseconds(try f.nonNegative("latency_ns")!)
            case "latency_us": latency = .microseconds(try f.nonNegative("latency_us")!)
            default: throw SimulatorError.cluster("links[\(i)]: missing 'latency_ns' (or 'latency_us')")
            }
            let duplex = try f.bool("duplex") ?? true
            try f.finish()
            // Routing picks one link per hop, so a second parallel link would carry nothing: refuse it.
            for (a, b) in duplex ? [(from, to), (to, from)] : [(from, to)]
            where net.outgoing[a].contains(where: { net.links[$0].to == b }) {
                throw SimulatorError.cluster(
                    "links[\(i)]: \(net.nodes[a].name) -> \(net.nodes[b].name) is defined twice "
                        + "(parallel links are not modelled: give one link the summed bandwidth)")
            }
            do {
                if duplex {
                    try net.addDuplexLink(from, to, bandwidth: bandwidth, latency: latency, linkClass: cls)
                } else {
                    try net.addLink(from: from, to: to, bandwidth: bandwidth, latency: latency, linkClass: cls)
                }
            } catch let SimulatorError.cluster(message) {
                throw SimulatorError.cluster("links[\(i)]: \(message)")
            }
        }
        try top.finish()
        let serverOf = (0..<gpuCount).map { $0 / perServer }
        return try Cluster(name: name, gpu: spec, network: net, gpus: gpus, serverOf: serverOf, overheads: overheads)
    }

    /// The device of every rank: `gpu: H100-SXM5` (a known GPU model) or a mapping. `kind` is `gpu` (the default) or
    /// `cpu`; each kind has its own keys, and a key of the other kind is an error naming it.
    /// - `kind: gpu`: `model` and/or explicit `name, hbm_bandwidth_GBps, bf16_TFLOPS, memory_GB` (explicit values
    ///   override the model's).
    /// - `kind: cpu`: all of `name, memory_bandwidth_GBps` (streaming-read bandwidth per rank), `gemm_GFLOPS` (GEMM
    ///   rate per rank in the workload's precision, the roofline's compute peak), `memory_GB` (memory per rank).
    static func gpuSpec(_ value: Any) throws -> GPUSpec {
        if let model = value as? String { return try GPUSpec.named(model) }
        var f = try ConfigFields(value, context: "gpu")
        let kindName = try f.string("kind") ?? GPUSpec.Kind.gpu.rawValue
        guard let kind = GPUSpec.Kind(rawValue: kindName) else {
            throw SimulatorError.cluster(
                "gpu: unknown kind '\(kindName)' (\(GPUSpec.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let gpuKeys = ["model", "hbm_bandwidth_GBps", "bf16_TFLOPS"],
            cpuKeys = ["memory_bandwidth_GBps", "gemm_GFLOPS"]
        let (own, other) = kind == .gpu ? (gpuKeys, cpuKeys) : (cpuKeys, gpuKeys)
        if let bad = other.first(where: { f.has($0) }) {
            throw SimulatorError.cluster(
                "gpu: '\(bad)' is a key of kind \(kind == .gpu ? "cpu" : "gpu"), not of kind \(kind.rawValue) (keys: kind, name, \(own.joined(separator: ", ")), memory_GB)"
            )
        }
        switch kind {
        case .gpu:
            let spec = try f.string("model").map { try GPUSpec.named($0) }
            let name = try f.string("name") ?? spec?.name
            let bw = try f.positive("hbm_bandwidth_GBps").map { $0 * 1e9 } ?? spec?.memoryBandwidth
            let flops = try f.positive("bf16_TFLOPS").map { $0 * 1e12 } ?? spec?.peakFlopsPerSecond
            let memory = try f.positive("memory_GB").map { $0 * 1e9 } ?? spec?.memoryBytes
            try f.finish()
            guard let name, let bw, let flops, let memory else {
                throw SimulatorError.cluster(
                    "gpu: give 'model' or all of name, hbm_bandwidth_GBps, bf16_TFLOPS, memory_GB")
            }
            return try GPUSpec(
                kind: .gpu, name: name, memoryBandwidth: bw, peakFlopsPerSecond: flops, memoryBytes: memory)
        case .cpu:
            let name = try f.string("name"), bw = try f.positive("memory_bandwidth_GBps")
            let flops = try f.positive("gemm_GFLOPS"), memory = try f.positive("memory_GB")
            try f.finish()
            guard let name, let bw, let flops, let memory else {
                let missing = [
                    ("name", name == nil), ("memory_bandwidth_GBps", bw == nil), ("gemm_GFLOPS", flops == nil),
                    ("memory_GB", memory == nil),
                ].first { $0.1 }!.0
                throw SimulatorError.cluster(
                    "gpu: kind cpu needs '\(missing)' (give all of name, memory_bandwidth_GBps, gemm_GFLOPS, memory_GB)"
                )
            }
            return try .cpu(
                name: name, memoryBandwidth: bw * 1e9, gemmFlopsPerSecond: flops * 1e9, memoryBytes: memory * 1e9)
        }
    }

    /// Converts parser output to plain Swift containers (NSNull -> nil markers, NSNumber -> Int/Double/Bool).
    static func normalise(_ value: Any?) -> Any? {
        switch value {
        case let d as [String: Any]: return d.compactMapValues { normalise($0) }
        case let d as [AnyHashable: Any]:
            var out: [String: Any] = [:]
            for (k, v) in d { if let nv = normalise(v) { out[String(describing: k)] = nv } }
            return out
        case let l as [Any]: return l.compactMap { normalise($0) }
        case is NSNull: return nil
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return n.boolValue }
            if n.doubleValue.rounded() == n.doubleValue, abs(n.doubleValue) < 1e15, !String(describing: n).contains(".")
            {
                return n.intValue
            }
            return n.doubleValue
        default: return value
        }
    }
}

extension Cluster {
    /// Resolves a `--cluster` argument: a preset name (optionally with ":N") or a path to a YAML/JSON file.
    /// `count` is a --nodes/--gpus style override for presets.
    public static func resolve(_ spec: String, count: Int? = nil) throws -> Cluster {
        let looksLikeFile =
            spec.hasSuffix(".yaml") || spec.hasSuffix(".yml") || spec.hasSuffix(".json") || spec.contains("/")
        if looksLikeFile || FileManager.default.fileExists(atPath: spec) {
            guard FileManager.default.fileExists(atPath: spec) else {
                throw SimulatorError.file(path: spec, problem: "no such cluster file (presets: \(ClusterPreset.usage))")
            }
            if count != nil {
                throw SimulatorError.invalidArgument("--nodes only applies to presets, not to cluster files")
            }
            return try ClusterFile.load(path: spec)
        }
        return try ClusterPreset.parse(spec, count: count).build()
    }
}
