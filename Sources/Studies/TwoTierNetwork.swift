import Foundation

/// Hosts emulated on one machine for a two-tier validation: one network namespace per host (its own loopback, one
/// `eth0`, its own host name), each joined by a veth pair to a bridge in a switch namespace, and every host's link
/// rate-limited in both directions by a token bucket (`tc qdisc ... tbf`). Ranks on one host share memory (Open MPI's
/// vader transport); ranks on different hosts talk TCP across their hosts' links. `mpirun` runs in the switch
/// namespace and starts one `orted` per host through `agent` (an rsh agent that enters the host's namespace and UTS
/// namespace). All traffic stays on these namespaces' own addresses (10.77.0.0/24, inside them only); nothing is
/// created in the machine's own namespace, and `remove` deletes every namespace (their links go with them).
public struct TwoTierNetwork {
    /// The namespace names' common start (unique to this process).
    public let name: String
    /// Number of hosts.
    public let hosts: Int
    /// The rsh agent script (`plm_rsh_agent`) and the hostfile, written into the work folder.
    public let agent: String, hostfile: String
    let launch: CommandLauncher.Launch

    /// The namespace of the switch (the bridge, and mpirun).
    public var switchNamespace: String { name + "-sw" }
    /// The namespace of host `h`.
    public func hostNamespace(_ h: Int) -> String { name + "-h\(h)" }
    /// The subnet the hosts' addresses are in (host h is 10.77.0.(h+1), the bridge 10.77.0.254).
    public static let subnet = "10.77.0.0/24"

    /// Creates `hosts` hosts (2...64) of `slots` MPI slots each, their links limited to `rate` (tc syntax, e.g.
    /// "100mbit") each way, and writes the agent and hostfile into `folder`. On any failure, what was created is
    /// removed before the error is thrown.
    public init(
        hosts: Int, slots: Int, rate: String, folder: String,
        launch: @escaping CommandLauncher.Launch = CommandLauncher.run
    ) throws {
        guard (2...64).contains(hosts), slots >= 1 else {
            throw StudyError.invalidArgument("a two-tier network needs 2...64 hosts and at least one slot per host")
        }
        name = "treeattn-2t-\(getpid())"
        self.hosts = hosts
        self.launch = launch
        agent = folder + "/rsh-agent.sh"
        hostfile = folder + "/hostfile"
        var created: [String] = []
        do {
            // The agent gets the host's name and orted's command line: it runs orted in the host's namespaces.
            let script = """
                #!/bin/sh
                host=$1; shift
                exec ip netns exec \(name)-"$host" unshare --uts sh -c "hostname $host && $*"

                """
            try Data(script.utf8).write(to: URL(fileURLWithPath: agent))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: agent)
            try Data((0..<hosts).map { "h\($0) slots=\(slots)\n" }.joined().utf8)
                .write(to: URL(fileURLWithPath: hostfile))
            let sw = switchNamespace
            try launch(["ip", "netns", "add", sw])
            created.append(sw)
            try launch(["ip", "-n", sw, "link", "set", "lo", "up"])
            try launch(["ip", "-n", sw, "link", "add", "br0", "type", "bridge"])
            try launch(["ip", "-n", sw, "addr", "add", "10.77.0.254/24", "dev", "br0"])
            try launch(["ip", "-n", sw, "link", "set", "br0", "up"])
            // The burst is just above the veth's 1500-byte MTU (tbf's timer is high-resolution, and it splits GSO
            // packets larger than the burst): a larger bucket would let the small messages of a step through at the
            // veth's speed after an idle gap, which no link does and the model does not have.
            let tbf = ["root", "tbf", "rate", rate, "burst", "4kb", "latency", "400ms"]
            for h in 0..<hosts {
                let ns = hostNamespace(h), port = "h\(h)"
                try launch(["ip", "netns", "add", ns])
                created.append(ns)
                try launch(["ip", "-n", ns, "link", "set", "lo", "up"])
                try launch([
                    "ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", sw,
                ])
                try launch(["ip", "-n", ns, "addr", "add", "10.77.0.\(h + 1)/24", "dev", "eth0"])
                try launch(["ip", "-n", ns, "link", "set", "eth0", "up"])
                try launch(["ip", "-n", sw, "link", "set", port, "master", "br0"])
                try launch(["ip", "-n", sw, "link", "set", port, "up"])
                try launch(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0"] + tbf)
                try launch(["ip", "netns", "exec", sw, "tc", "qdisc", "add", "dev", port] + tbf)
            }
        } catch {
            for ns in created.reversed() { try? launch(["ip", "netns", "del", ns]) }
            throw error
        }
    }

    /// The mpirun command line for `ranks` ranks over the hosts (consecutive ranks on each host, `--map-by slot`):
    /// run in the switch namespace, vader inside a host, TCP between hosts. Ranks yield when idle
    /// (`mpi_yield_when_idle`): the emulated network is this machine's kernel (veth, bridge, tbf run in softirqs and
    /// ksoftirqd on the same cores), and ranks that spin while waiting hold it off until the next scheduler tick,
    /// about 4 ms per message.
    public func mpirun(ranks: Int) -> [String] {
        ["ip", "netns", "exec", switchNamespace, "mpirun", "-q", "--allow-run-as-root", "--hostfile", hostfile]
            + ["--map-by", "slot", "--mca", "plm_rsh_agent", agent, "--mca", "btl", "self,vader,tcp"]
            + ["--mca", "oob_tcp_if_include", Self.subnet, "--mca", "btl_tcp_if_include", Self.subnet]
            + ["--mca", "mpi_yield_when_idle", "1", "-np", "\(ranks)"]
    }

    /// Deletes every namespace (the veth pairs and the bridge go with them).
    public func remove() {
        for h in (0..<hosts).reversed() { try? launch(["ip", "netns", "del", hostNamespace(h)]) }
        try? launch(["ip", "netns", "del", switchNamespace])
    }
}
