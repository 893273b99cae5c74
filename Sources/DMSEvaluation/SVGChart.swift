import Foundation

/// A line and scatter chart written as a standalone SVG document, with no dependencies.
///
/// Each series is a polyline through its points with a marker at every point (colour and shape
/// from ``palette``), a label beside each marker that has one, and a legend entry on the right.
/// Points an axis cannot place (NaN, infinities, values ≤ 0 on a logarithmic axis) are left out;
/// a chart without any point still renders and says so.
public struct SVGChart: Sendable, Equatable {
    public var title: String
    public var xAxis: ChartAxis
    public var yAxis: ChartAxis
    public var series: [ChartSeries]
    /// Size of the drawing, pixels.
    public var width: Double
    public var height: Double

    public init(title: String, xAxis: ChartAxis, yAxis: ChartAxis, series: [ChartSeries],
                width: Double = 760, height: Double = 480) {
        self.title = title
        self.xAxis = xAxis
        self.yAxis = yAxis
        self.series = series
        self.width = width
        self.height = height
    }

    /// The Okabe–Ito colours, told apart with the common kinds of colour blindness (their
    /// yellow, faint on white, left out). Series also differ by marker shape.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// Marker shapes, cycled independently of the colours.
    static let markerShapes = 5

    /// The chart as an SVG document.
    public var svg: String {
        let placed = series.map { $0.points.filter { xAxis.canPlace($0.x) && yAxis.canPlace($0.y) } }
        let xLayout = xAxis.layout(spanning: placed.flatMap { $0.map(\.x) })
        let yLayout = yAxis.layout(spanning: placed.flatMap { $0.map(\.y) })
        let legendNames = zip(series, placed).map { entry, points in entry.name + (points.isEmpty ? " (no data)" : "") }
        // About 7 px per character at the legend's 12 px font, plus the line sample before the name.
        let legendWidth = min(260, max(100, 48 + 7 * Double(legendNames.map(\.count).max() ?? 0)))
        let plot = (left: 84.0, top: 44.0, right: width - legendWidth, bottom: height - 56)
        let x = { (value: Double) in plot.left + xLayout.fraction(of: value) * (plot.right - plot.left) }
        let y = { (value: Double) in plot.bottom - yLayout.fraction(of: value) * (plot.bottom - plot.top) }

        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Self.number(width))" height="\#(Self.number(height))" "#
                + #"viewBox="0 0 \#(Self.number(width)) \#(Self.number(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
            "<title>\(Self.escaped(title))</title>",
            #"<rect width="100%" height="100%" fill="white"/>"#,
            #"<text x="\#(Self.number(width / 2))" y="26" text-anchor="middle" font-size="15" font-weight="bold">\#(Self.escaped(title))</text>"#,
        ]

        lines.append(##"<g stroke="#e3e3e3" stroke-width="1">"##)
        for tick in xLayout.ticks {
            lines.append(Self.line(from: (x(tick), plot.top), to: (x(tick), plot.bottom)))
        }
        for tick in yLayout.ticks {
            lines.append(Self.line(from: (plot.left, y(tick)), to: (plot.right, y(tick))))
        }
        lines.append("</g>")
        lines.append(#"<rect x="\#(Self.number(plot.left))" y="\#(Self.number(plot.top))" width="\#(Self.number(plot.right - plot.left))" "#
            + ##"height="\##(Self.number(plot.bottom - plot.top))" fill="none" stroke="#666"/>"##)

        lines.append(##"<g font-size="11" fill="#333">"##)
        for tick in xLayout.ticks {
            lines.append(Self.text(xAxis.style.label(for: tick), at: (x(tick), plot.bottom + 16), anchor: "middle"))
        }
        for tick in yLayout.ticks {
            lines.append(Self.text(yAxis.style.label(for: tick), at: (plot.left - 6, y(tick) + 4), anchor: "end"))
        }
        lines.append("</g>")
        lines.append(Self.text(xAxis.title, at: ((plot.left + plot.right) / 2, height - 16), anchor: "middle", attributes: #"font-size="13""#))
        let yTitleCenter = (plot.top + plot.bottom) / 2
        lines.append(#"<text transform="translate(18 \#(Self.number(yTitleCenter))) rotate(-90)" text-anchor="middle" font-size="13">"#
            + "\(Self.escaped(yAxis.title))</text>")

        for (index, points) in placed.enumerated() where !points.isEmpty {
            let (style, color) = self.style(ofSeries: index)
            lines.append(#"<g fill="\#(color)">"#)
            let path = points.map { "\(Self.number(x($0.x))),\(Self.number(y($0.y)))" }.joined(separator: " ")
            lines.append(#"<polyline points="\#(path)" fill="none" stroke="\#(color)" stroke-width="2"\#(dash(ofSeries: index))/>"#)
            for point in points {
                lines.append(Self.marker(style, at: (x(point.x), y(point.y))))
            }
            for point in points {
                guard let label = point.label else { continue }
                // Above and right of the marker; left of it near the right edge, so it stays out of the legend.
                let nearRight = xLayout.fraction(of: point.x) > 0.85
                let position = (x: x(point.x) + (nearRight ? -6 : 6), y: y(point.y) - 7)
                lines.append(Self.text(label, at: position, anchor: nearRight ? "end" : "start", attributes: #"font-size="10""#))
            }
            lines.append("</g>")
        }
        if placed.allSatisfy(\.isEmpty) {
            lines.append(Self.text("no data", at: ((plot.left + plot.right) / 2, yTitleCenter), anchor: "middle", attributes: ##"fill="#666""##))
        }

        for (index, name) in legendNames.enumerated() {
            let (style, color) = self.style(ofSeries: index)
            let top = plot.top + 10 + 20 * Double(index), start = plot.right + 16
            lines.append(#"<g fill="\#(color)" stroke="\#(color)">"#)
            lines.append(Self.line(from: (start, top), to: (start + 24, top), attributes: #"stroke-width="2""# + dash(ofSeries: index)))
            lines.append(Self.marker(style, at: (start + 12, top)))
            lines.append("</g>")
            lines.append(Self.text(name, at: (start + 32, top + 4), anchor: "start"))
        }
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The palette entry of series `index`: its ``ChartSeries/paletteIndex`` or its position.
    func style(ofSeries index: Int) -> (index: Int, color: String) {
        let style = max(0, series[index].paletteIndex ?? index)
        return (style, Self.palette[style % Self.palette.count])
    }

    /// The stroke pattern attribute of series `index`: empty for a solid line.
    func dash(ofSeries index: Int) -> String {
        series[index].dashed ? #" stroke-dasharray="6 4""# : ""
    }

    /// Marker `style` (its shape cycles through ``markerShapes``) centred on `center`.
    static func marker(_ style: Int, at center: (x: Double, y: Double)) -> String {
        let (cx, cy) = center
        func polygon(_ corners: [(Double, Double)]) -> String {
            let points = corners.map { "\(number(cx + $0.0)),\(number(cy + $0.1))" }.joined(separator: " ")
            return #"<polygon points="\#(points)" stroke="white" stroke-width="0.8"/>"#
        }
        switch style % markerShapes {
        case 0: return #"<circle cx="\#(number(cx))" cy="\#(number(cy))" r="4" stroke="white" stroke-width="0.8"/>"#
        case 1: return polygon([(-3.5, -3.5), (3.5, -3.5), (3.5, 3.5), (-3.5, 3.5)])
        case 2: return polygon([(0, -5), (4.5, 3.5), (-4.5, 3.5)])
        case 3: return polygon([(0, -5), (5, 0), (0, 5), (-5, 0)])
        default: return polygon([(0, 5), (4.5, -3.5), (-4.5, -3.5)])
        }
    }

    static func line(from start: (x: Double, y: Double), to end: (x: Double, y: Double), attributes: String = "") -> String {
        #"<line x1="\#(number(start.x))" y1="\#(number(start.y))" x2="\#(number(end.x))" y2="\#(number(end.y))""#
            + (attributes.isEmpty ? "" : " " + attributes) + "/>"
    }

    static func text(_ content: String, at point: (x: Double, y: Double), anchor: String, attributes: String = "") -> String {
        #"<text x="\#(number(point.x))" y="\#(number(point.y))" text-anchor="\#(anchor)""#
            + (attributes.isEmpty ? "" : " " + attributes) + ">\(escaped(content))</text>"
    }

    /// A coordinate to a tenth of a pixel.
    static func number(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// `text` safe inside an XML element or attribute: the five special characters as entities,
    /// and characters XML 1.0 does not allow (most control characters) dropped.
    static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n", "\r", "\u{20}"..."\u{D7FF}", "\u{E000}"..."\u{FFFD}", "\u{10000}"...: result.unicodeScalars.append(scalar)
            default: continue
            }
        }
        return result
    }
}
