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

    /// Prints `message` with the elapsed seconds if `interval` has passed since the last line.
    func say(_ message: String) {
        guard enabled, Date().timeIntervalSince(last) >= interval else { return }
        last = Date()
        FileHandle.standardError.write(
            Data(String(format: "%@: %@, %.0f s\n", title, message, Date().timeIntervalSince(start)).utf8))
    }
}
