import Foundation

/// Runs another program (mpirun, ip, tc) for a study that measures real runs: `run` waits for it and turns a failure
/// into one line with the program's last stderr line. Studies take a launcher as a closure, so their logic can be
/// tested with a fake one that never starts a process.
public enum CommandLauncher {
    /// The signature studies take.
    public typealias Launch = ([String]) throws -> Void

    /// Runs `arguments` through /usr/bin/env (stdout discarded); a non-zero exit is a one-line error.
    public static func run(_ arguments: [String]) throws {
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
            throw StudyError.processFailed(
                "\(arguments.prefix(8).joined(separator: " ")) ... failed (exit \(process.terminationStatus)): \(last)")
        }
    }
}

/// A network namespace whose loopback is rate-limited by a token bucket (`tc qdisc ... tbf`), created for one
/// validation and removed after it. All traffic stays on the namespace's own loopback.
public struct NetworkNamespace {
    /// The namespace's name (unique to this process).
    public let name: String
    let launch: CommandLauncher.Launch

    /// The prefix that runs a command inside the namespace.
    public var prefix: [String] { ["ip", "netns", "exec", name] }

    /// Creates the namespace with its loopback up and limited to `rate` (tc syntax, e.g. "1gbit").
    public init(rate: String, launch: @escaping CommandLauncher.Launch = CommandLauncher.run) throws {
        name = "treeattn-validate-\(getpid())"
        self.launch = launch
        try launch(["ip", "netns", "add", name])
        do {
            try launch(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"])
            // The burst must exceed the loopback MTU (65536 bytes) or packets are dropped.
            try launch([
                "ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
                "rate", rate, "burst", "256kb", "latency", "400ms",
            ])
        } catch {
            remove()
            throw error
        }
    }

    /// Deletes the namespace.
    public func remove() { try? launch(["ip", "netns", "del", name]) }
}
