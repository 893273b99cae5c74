import Foundation

/// Where a ``ChartAxis`` starts and ends for some data, and where its ticks go.
public struct AxisLayout: Sendable, Equatable {
    public var lowerBound: Double
    public var upperBound: Double
    /// Tick values, ascending, all within the bounds.
    public var ticks: [Double]
    public var scale: ChartAxis.Scale

    public init(lowerBound: Double, upperBound: Double, ticks: [Double], scale: ChartAxis.Scale) {
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.ticks = ticks
        self.scale = scale
    }

    /// Where `value` falls along the axis: 0 at the lower bound, 1 at the upper.
    public func fraction(of value: Double) -> Double {
        switch scale {
        case .linear:
            return (value - lowerBound) / (upperBound - lowerBound)
        case .logarithmic:
            return log(value / lowerBound) / log(upperBound / lowerBound)
        }
    }
}
