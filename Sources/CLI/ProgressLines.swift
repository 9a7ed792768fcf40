import Foundation

/// Progress of a long computation as plain lines on stderr, at most one every `interval` seconds ("title: message,
/// 12 s"). For runs whose total is unknown (event counts of a simulation); `ProgressBar` draws runs with a known total.
final class ProgressLines {
    let title: String
    let enabled: Bool
    let interval: Double
    private let start = Date()
    private var last = Date()

    init(title: String, enabled: Bool = true, interval: Double = 2) {
        (self.title, self.enabled, self.interval) = (title, enabled, interval)
    }

    /// Prints "<prefix>1.2M events of ~4.0M (30%, ETA 14 s), simulated 1.5 ms": a simulation's progress, with the
    /// time left extrapolated from the rate so far (the expected events are an estimate; past them the ETA is
    /// omitted).
    func sayEvents(_ prefix: String = "", _ events: Int, of expected: Double, simulated now: String) {
        let done = Double(events) / max(expected, 1)
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 && done < 1 ? String(format: ", ETA %.0f s", elapsed * (1 - done) / done) : ""
        say(
            prefix
                + String(
                    format: "%.1fM events of ~%.1fM (%.0f%%%@), simulated %@", Double(events) / 1e6, expected / 1e6,
                    min(done, 1) * 100, eta, now))
    }

    /// Prints `message` with the elapsed seconds if `interval` has passed since the last line.
    func say(_ message: String) {
        guard enabled, Date().timeIntervalSince(last) >= interval else { return }
        last = Date()
        FileHandle.standardError.write(
            Data(String(format: "%@: %@, %.0f s\n", title, message, Date().timeIntervalSince(start)).utf8))
    }
}
