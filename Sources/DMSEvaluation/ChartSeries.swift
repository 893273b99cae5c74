/// One line of an ``SVGChart``: its points, joined in the order given, and its legend name.
public struct ChartSeries: Sendable, Equatable {
    /// The legend entry.
    public var name: String
    /// Joined by a line in this order (sort them by x for a line plot).
    public var points: [ChartPoint]
    /// Which colour and marker of ``SVGChart/palette`` to draw with; nil takes the series'
    /// position in the chart. Fixing it keeps one policy's colour across several charts.
    public var paletteIndex: Int?
    /// Drawn with a dashed line: a variant of the series that shares its colour.
    public var dashed: Bool

    public init(name: String, points: [ChartPoint], paletteIndex: Int? = nil, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.paletteIndex = paletteIndex
        self.dashed = dashed
    }
}
