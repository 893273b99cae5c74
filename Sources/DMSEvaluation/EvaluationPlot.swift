/// One chart of the report and the file it is written to.
public struct EvaluationPlot: Sendable, Equatable {
    /// The file name in the report's directory, e.g. `passkey-4096-reads.svg`.
    public var fileName: String
    public var chart: SVGChart

    public init(fileName: String, chart: SVGChart) {
        self.fileName = fileName
        self.chart = chart
    }
}
