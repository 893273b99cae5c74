/// One point of a ``ChartSeries``, with an optional text drawn beside its marker.
public struct ChartPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    /// Drawn next to the marker, e.g. `×8.0` for a compression ratio; nil for none.
    public var label: String?

    public init(x: Double, y: Double, label: String? = nil) {
        self.x = x
        self.y = y
        self.label = label
    }
}
