import Foundation
import TreeCore

/// `treeattn explain --html DIR`: a static site a learner opens from file:// or any static host, with no network.
/// Its page (`Site/index.html`, `explainer.css`, `explainer.js`, compiled into the library) recomputes the walkthrough
/// in the browser for the learner's choices; `data.js` embeds this library's own `Walkthrough` for the initial choices
/// (the page shows how far its numbers are from it; the seed also as text, which JavaScript reads exactly) and the
/// `ClusterTimelines` grid it draws. The same settings give
/// the same bytes.
public struct ExplainerSite: Sendable {
    /// The reference walkthrough of the page's initial state (with the backward).
    public var walkthrough: Walkthrough
    /// The simulated cluster grid.
    public var clusters: ClusterTimelines

    /// Computes the walkthrough of `settings` (the backward included; a sink is refused: the page has no sink step)
    /// and simulates `grid`, calling `progress(done, total)` after each grid point.
    public init(
        settings: Walkthrough.Settings, grid: ClusterTimelines.Grid = .init(),
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws {
        guard settings.sink == nil else {
            throw CoreError.invalidOption("--html has no sink step; use the text or --json for --sinks")
        }
        var s = settings
        s.backward = true
        walkthrough = try Walkthrough(s)
        clusters = try ClusterTimelines(grid: grid, progress: progress)
    }

    /// The site's files by name: the page, its style and script, and `data.js`.
    public func files() throws -> [(name: String, bytes: [UInt8])] {
        let encoder = Walkthrough.encoder(pretty: false)
        let reference = try encoder.encode(walkthrough)
        let grid = try encoder.encode(clusters)
        let data =
            "// Written by `treeattn explain --html`: the Swift reference's walkthrough and the simulated cluster grid.\n"
            + "window.TREEATTN_DATA = {\"reference\": \(String(decoding: reference, as: UTF8.self)),\n"
            // The seed once more as text: JavaScript reads JSON numbers as doubles, exact only below 2^53.
            + "\"seed\": \"\(walkthrough.settings.seed)\",\n"
            + "\"clusters\": \(String(decoding: grid, as: UTF8.self))};\n"
        return [
            ("index.html", PackageResources.index_html), ("explainer.css", PackageResources.explainer_css),
            ("explainer.js", PackageResources.explainer_js), ("data.js", Array(data.utf8)),
        ]
    }

    /// Writes the site into `folder` (new or empty), all files or none (`AtomicFolder`).
    public func write(to folder: String) throws { try write(into: try AtomicFolder(folder)) }

    /// Writes the site into `destination` and commits it: the files appear together or not at all. (A command opens
    /// the folder before computing the site, so a folder it cannot use is refused before any work.)
    public func write(into destination: AtomicFolder) throws {
        for file in try files() {
            try AtomicFile.write(file.bytes, to: destination.temporary + "/" + file.name)
        }
        try destination.commit()
    }
}
