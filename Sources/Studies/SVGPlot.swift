import Foundation
import Simulator

/// One line of a plot.
public struct PlotSeries: Equatable, Sendable {
    /// The series' name, shown in the legend.
    public var name: String
    /// The data points in data units, drawn in order.
    public var points: [(x: Double, y: Double)]
    /// Index into the colour palette (series sharing a meaning can share a colour).
    public var colour: Int
    /// Dashed line (e.g. a formula next to a simulated value, or a second GPU count).
    public var dash: Int

    /// A series; `dash` 0 is a solid line.
    public init(name: String, points: [(x: Double, y: Double)], colour: Int, dash: Int = 0) {
        self.name = name
        self.points = points
        self.colour = colour
        self.dash = dash
    }

    /// Equal when name, colour, dash and every point are equal.
    public static func == (a: PlotSeries, b: PlotSeries) -> Bool {
        a.name == b.name && a.colour == b.colour && a.dash == b.dash && a.points.count == b.points.count
            && zip(a.points, b.points).allSatisfy { $0.x == $1.x && $0.y == $1.y }
    }
}

/// A line plot rendered as a small, self-contained, deterministic SVG: title, axes with ticks, grid lines, units in
/// the axis labels, log or linear scales, markers and a legend. Same input, same bytes (fixed number formatting,
/// no timestamps, no randomness). Points that cannot be drawn (non-finite, or <= 0 on a log axis) are left out and
/// counted in `skippedPoints`.
public struct LinePlot: Equatable, Sendable {
    /// The title above the plot.
    public var title: String
    /// The horizontal axis.
    public var x: PlotAxis
    /// The vertical axis.
    public var y: PlotAxis
    /// The lines, undrawable points removed.
    public var series: [PlotSeries]
    /// Width of the SVG in pixels.
    public var width: Double = 760
    /// Height of the SVG in pixels.
    public var height: Double = 460
    /// A line of small print under the plot (e.g. the setting).
    public var caption: String?

    /// Line colours (CSS hex), indexed by `PlotSeries.colour` modulo their count.
    public static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    ]
    static let dashes = ["", "6 4", "2 3", "10 3 2 3"]

    /// Builds the axes from the data. Throws if no series has a drawable point.
    public init(
        title: String, xLabel: String, xScale: AxisScale, xFormat: TickFormat = .plain, xTicks: [Double]? = nil,
        yLabel: String, yScale: AxisScale, yFormat: TickFormat = .plain, series: [PlotSeries], caption: String? = nil
    ) throws {
        guard !series.isEmpty else { throw StudyError.invalidArgument("plot '\(title)': no series") }
        func drawable(_ p: (x: Double, y: Double)) -> Bool {
            p.x.isFinite && p.y.isFinite && (xScale == .linear || p.x > 0) && (yScale == .linear || p.y > 0)
        }
        let points = series.flatMap { $0.points.filter(drawable) }
        guard !points.isEmpty else { throw StudyError.invalidArgument("plot '\(title)': no drawable points") }
        self.title = title
        x = try PlotAxis(label: xLabel, scale: xScale, format: xFormat, values: points.map(\.x), explicitTicks: xTicks)
        y = try PlotAxis(label: yLabel, scale: yScale, format: yFormat, values: points.map(\.y))
        self.series = series.map { s in
            PlotSeries(name: s.name, points: s.points.filter(drawable), colour: s.colour, dash: s.dash)
        }
        skippedPoints = series.reduce(0) { $0 + $1.points.count } - points.count
        self.caption = caption
    }

    /// Points left out because they cannot be drawn on these axes.
    public private(set) var skippedPoints: Int = 0

    // Layout (pixels).
    var left: Double { 78 }
    var right: Double { 230 }
    var top: Double { 44 }
    var bottom: Double { caption == nil ? 58 : 76 }
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    func px(_ v: Double) -> Double { left + x.fraction(v) * plotWidth }
    func py(_ v: Double) -> Double { top + (1 - y.fraction(v)) * plotHeight }

    /// The SVG document.
    public func render() -> String {
        var out: [String] = []
        out.append(##"<?xml version="1.0" encoding="UTF-8"?>"##)
        out.append(
            ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"##
        )
        out.append("<title>\(TextEscaping.xml(title))</title>")
        out.append(##"<rect x="0" y="0" width="\##(f(width))" height="\##(f(height))" fill="#ffffff"/>"##)
        out.append(
            ##"<text x="\##(f(left + plotWidth / 2))" y="24" text-anchor="middle" font-size="15" font-weight="bold">\##(TextEscaping.xml(title))</text>"##
        )
        // Grid and ticks.
        out.append(##"<g stroke="#dddddd" stroke-width="1">"##)
        for t in x.ticks {
            out.append(
                ##"<line x1="\##(f(px(t)))" y1="\##(f(top))" x2="\##(f(px(t)))" y2="\##(f(top + plotHeight))"/>"##)
        }
        for t in y.ticks {
            out.append(
                ##"<line x1="\##(f(left))" y1="\##(f(py(t)))" x2="\##(f(left + plotWidth))" y2="\##(f(py(t)))"/>"##)
        }
        out.append("</g>")
        out.append(
            ##"<rect x="\##(f(left))" y="\##(f(top))" width="\##(f(plotWidth))" height="\##(f(plotHeight))" fill="none" stroke="#333333" stroke-width="1"/>"##
        )
        out.append(##"<g font-size="11" fill="#333333">"##)
        for t in x.ticks {
            out.append(
                ##"<line x1="\##(f(px(t)))" y1="\##(f(top + plotHeight))" x2="\##(f(px(t)))" y2="\##(f(top + plotHeight + 5))" stroke="#333333"/>"##
            )
            out.append(
                ##"<text x="\##(f(px(t)))" y="\##(f(top + plotHeight + 18))" text-anchor="middle">\##(TextEscaping.xml(x.tickLabel(t)))</text>"##
            )
        }
        for t in y.ticks {
            out.append(
                ##"<line x1="\##(f(left - 5))" y1="\##(f(py(t)))" x2="\##(f(left))" y2="\##(f(py(t)))" stroke="#333333"/>"##
            )
            out.append(
                ##"<text x="\##(f(left - 8))" y="\##(f(py(t) + 4))" text-anchor="end">\##(TextEscaping.xml(y.tickLabel(t)))</text>"##
            )
        }
        out.append("</g>")
        let xSuffix = x.scale == .log ? " (log scale)" : ""
        let ySuffix = y.scale == .log ? " (log scale)" : ""
        out.append(
            ##"<text x="\##(f(left + plotWidth / 2))" y="\##(f(top + plotHeight + 38))" text-anchor="middle">\##(TextEscaping.xml(x.label + xSuffix))</text>"##
        )
        out.append(
            ##"<text x="18" y="\##(f(top + plotHeight / 2))" text-anchor="middle" transform="rotate(-90 18 \##(f(top + plotHeight / 2)))">\##(TextEscaping.xml(y.label + ySuffix))</text>"##
        )
        if let caption {
            out.append(
                ##"<text x="\##(f(left))" y="\##(f(height - 12))" font-size="10" fill="#555555">\##(TextEscaping.xml(caption))</text>"##
            )
        }
        // Series.
        for s in series where !s.points.isEmpty {
            let colour = Self.palette[((s.colour % Self.palette.count) + Self.palette.count) % Self.palette.count]
            let dash = Self.dashes[((s.dash % Self.dashes.count) + Self.dashes.count) % Self.dashes.count]
            let path = s.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out.append("<g>")
            out.append("<title>\(TextEscaping.xml(s.name))</title>")
            out.append(
                ##"<polyline points="\##(path)" fill="none" stroke="\##(colour)" stroke-width="2"\##(dashAttribute(dash))/>"##
            )
            for p in s.points {
                out.append(##"<circle cx="\##(f(px(p.x)))" cy="\##(f(py(p.y)))" r="3" fill="\##(colour)"/>"##)
            }
            out.append("</g>")
        }
        // Legend.
        let legendX = left + plotWidth + 16
        out.append(##"<g font-size="11">"##)
        for (i, s) in series.enumerated() {
            let colour = Self.palette[((s.colour % Self.palette.count) + Self.palette.count) % Self.palette.count]
            let dash = Self.dashes[((s.dash % Self.dashes.count) + Self.dashes.count) % Self.dashes.count]
            let yy = top + 8 + Double(i) * 18
            out.append(
                ##"<line x1="\##(f(legendX))" y1="\##(f(yy))" x2="\##(f(legendX + 24))" y2="\##(f(yy))" stroke="\##(colour)" stroke-width="2"\##(dashAttribute(dash))/>"##
            )
            out.append(##"<text x="\##(f(legendX + 30))" y="\##(f(yy + 4))">\##(TextEscaping.xml(s.name))</text>"##)
        }
        out.append("</g>")
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    func dashAttribute(_ dash: String) -> String { dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"" }

    /// Fixed two-decimal coordinates (deterministic, locale-free).
    func f(_ v: Double) -> String { String(format: "%.2f", v) }
}
