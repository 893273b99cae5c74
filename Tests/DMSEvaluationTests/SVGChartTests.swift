import DMSEvaluation
import Foundation
import Testing

@Suite("SVG charts")
struct SVGChartTests {
    static let axes = (x: ChartAxis(title: "KV token reads", scale: .logarithmic(base: 10), style: .count),
                       y: ChartAxis(title: "accuracy (higher is better)"))

    @Test func linesMarkersLabelsAndLegendParseAsXML() throws {
        let series = [
            ChartSeries(name: "full", points: [ChartPoint(x: 8e6, y: 1, label: "×1.0")]),
            ChartSeries(name: "dms", points: [ChartPoint(x: 1e6, y: 0.95, label: "×8.0"), ChartPoint(x: 2e6, y: 0.97, label: "×4.0")]),
            ChartSeries(name: "h2o <heavy & hitters>", points: [ChartPoint(x: 1e6, y: 0.7), ChartPoint(x: 2e6, y: 0.8)]),
        ]
        let title = #"passkey "4096" <tokens> & 'more'"#
        let chart = SVGChart(title: title, xAxis: Self.axes.x, yAxis: Self.axes.y, series: series)
        let document = try SVGDocument(chart.svg)

        #expect(document.elements.first?.name == "svg")
        #expect(document.elements(named: "polyline").count == 3)
        #expect(Set(document.elements(named: "polyline").compactMap { $0.attributes["stroke"] }).count == 3)
        #expect(document.texts.contains(title))
        for label in ["×1.0", "×8.0", "×4.0", "full", "dms", "h2o <heavy & hitters>", "KV token reads", "1M"] {
            #expect(document.texts.contains(label), "\(label)")
        }
        // Every vertex lies inside the drawing.
        for polyline in document.elements(named: "polyline") {
            let coordinates = try #require(polyline.attributes["points"]).split(whereSeparator: { $0 == " " || $0 == "," })
            for value in coordinates.compactMap({ Double($0) }) {
                #expect(value >= 0 && value <= chart.width)
            }
        }
    }

    @Test func emptySeriesSinglePointsAndNonFiniteValuesDoNotBreakIt() throws {
        let series = [
            ChartSeries(name: "empty", points: []),
            ChartSeries(name: "one", points: [ChartPoint(x: 4096, y: 0.5, label: "×1.0")]),
            ChartSeries(name: "odd", points: [ChartPoint(x: .nan, y: 1), ChartPoint(x: 100, y: .infinity),
                                              ChartPoint(x: -5, y: 0.2), ChartPoint(x: 0, y: 0.3), ChartPoint(x: 200, y: 0.4)]),
        ]
        let svg = SVGChart(title: "odd", xAxis: Self.axes.x, yAxis: Self.axes.y, series: series).svg
        let document = try SVGDocument(svg)
        #expect(document.elements(named: "polyline").count == 2)
        #expect(document.texts.contains("empty (no data)"))
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
    }

    @Test func aChartWithoutPointsSaysSo() throws {
        for series in [[], [ChartSeries(name: "nothing", points: [ChartPoint(x: .nan, y: .nan)])]] {
            let document = try SVGDocument(SVGChart(title: "empty", xAxis: Self.axes.x, yAxis: Self.axes.y, series: series).svg)
            #expect(document.texts.contains("no data"))
            #expect(document.elements(named: "polyline").isEmpty)
        }
    }

    @Test func controlCharactersAreDropped() throws {
        let document = try SVGDocument(SVGChart(title: "a\u{1}b\u{7}c", xAxis: Self.axes.x, yAxis: Self.axes.y, series: []).svg)
        #expect(document.texts.contains("abc"))
    }
}
