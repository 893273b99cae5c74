import Foundation

/// The paper's charts of a set of ``EvaluationRecord``s.
///
/// For each task at each context length: its metric against KV token reads and against peak KV
/// cache memory, one line per policy through its settings (sorted by x, each point labelled with
/// the compression ratio reached); a baseline at a fixed budget is a dashed line of its own, in
/// its policy's colour. From the `latency` task's records: p50 decode latency per token against
/// context length, one line per policy. A policy keeps its colour in every chart.
public struct EvaluationPlots: Sendable {
    /// The task whose records measure decode latency rather than quality.
    public static let latencyTask = "latency"

    public let records: [EvaluationRecord]
    /// Every policy present, in palette order.
    let policies: [String]

    public init(records: [EvaluationRecord]) {
        self.records = records
        self.policies = EvaluationGroup.unique(EvaluationGroup.sorted(records).map(\.policy))
    }

    /// Every plot, in the report's order: each quality group's, then the latency plot.
    public var all: [EvaluationPlot] {
        EvaluationGroup.groups(of: records).flatMap(plots(for:)) + (latencyPlot.map { [$0] } ?? [])
    }

    /// Metric against KV token reads and against peak KV memory; none for the latency task.
    public func plots(for group: EvaluationGroup) -> [EvaluationPlot] {
        guard group.task != Self.latencyTask else { return [] }
        let name = "\(Self.fileNameComponent(group.task))-\(group.length)"
        let heading = "\(group.task), \(group.length) tokens: \(group.metric)"
        let yAxis = ChartAxis(title: Self.metricTitle(group.metric, higherIsBetter: group.higherIsBetter),
                              alwaysIncludes: group.metric == "accuracy" ? [0, 1] : [])
        return [
            EvaluationPlot(fileName: name + "-reads.svg", chart: SVGChart(
                title: heading + " vs KV token reads",
                xAxis: ChartAxis(title: "KV token reads per sample (log scale)", scale: .logarithmic(base: 10), style: .count),
                yAxis: yAxis,
                series: series(of: group.records) { $0.tokenReads })),
            EvaluationPlot(fileName: name + "-memory.svg", chart: SVGChart(
                title: heading + " vs peak KV memory",
                xAxis: ChartAxis(title: "peak KV cache memory (log scale)", scale: .logarithmic(base: 2), style: .bytes),
                yAxis: yAxis,
                series: series(of: group.records) { Double($0.peakKVBytes) })),
        ]
    }

    /// p50 decode latency per token against context length; nil without latency records.
    public var latencyPlot: EvaluationPlot? {
        let latency = records.filter { $0.task == Self.latencyTask }
        guard let first = latency.first else { return nil }
        return EvaluationPlot(fileName: "latency.svg", chart: SVGChart(
            title: "Decode latency per token (p50) vs context length",
            xAxis: ChartAxis(title: "context length, tokens (log scale)", scale: .logarithmic(base: 2)),
            yAxis: ChartAxis(title: Self.metricTitle("\(first.metric), p50 per token", higherIsBetter: first.higherIsBetter),
                             alwaysIncludes: [0]),
            series: series(of: latency) { Double($0.length) }))
    }

    /// One line per ``EvaluationRecord/series``: (x, value) points sorted by x, labelled with the
    /// compression ratio. A baseline at a fixed budget is dashed, in its policy's colour.
    func series(of records: [EvaluationRecord], x: (EvaluationRecord) -> Double) -> [ChartSeries] {
        EvaluationGroup.series(in: records).map { name in
            let members = records.filter { $0.series == name }
            let points = members.map { ChartPoint(x: x($0), y: $0.value, label: Self.ratioLabel($0.compressionRatio)) }
                .sorted { $0.x < $1.x }
            return ChartSeries(name: name, points: points, paletteIndex: policies.firstIndex(of: members[0].policy),
                               dashed: members[0].baselineBudget == .fixed)
        }
    }

    /// `×8.0`: a compression ratio as the points and findings show it.
    public static func ratioLabel(_ ratio: Double) -> String {
        "×" + String(format: "%.1f", ratio)
    }

    /// `accuracy (higher is better)`.
    public static func metricTitle(_ metric: String, higherIsBetter: Bool) -> String {
        "\(metric) (\(higherIsBetter ? "higher" : "lower") is better)"
    }

    /// `name` with anything but letters, digits, `-` and `_` replaced by `-`, for a file name.
    static func fileNameComponent(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" })
    }
}
