import Foundation

/// One axis of an ``SVGChart``: its title, its scale and how its tick values read.
public struct ChartAxis: Sendable, Equatable {
    /// How values map to positions along the axis.
    public enum Scale: Sendable, Equatable {
        case linear
        /// Position by the logarithm, ticks at powers of `base`: 10 suits counts, 2 suits bytes
        /// and context lengths. Values ≤ 0 cannot be placed and are left out.
        case logarithmic(base: Double)
    }

    /// How tick values are written.
    public enum ValueStyle: Sendable, Equatable {
        /// `0.25`, `4096`: ``ReadableNumber/plain(_:)``.
        case plain
        /// `512K`, `1.2M`: ``ReadableNumber/count(_:)``.
        case count
        /// `64 MiB`: ``ReadableNumber/bytes(_:)``.
        case bytes

        /// `value` written in this style.
        public func label(for value: Double) -> String {
            switch self {
            case .plain: return ReadableNumber.plain(value)
            case .count: return ReadableNumber.count(value)
            case .bytes: return ReadableNumber.bytes(value)
            }
        }
    }

    /// The axis title, e.g. what is measured and in which unit.
    public var title: String
    public var scale: Scale
    public var style: ValueStyle
    /// Values the axis spans even where no point lies, such as 0 and 1 for an accuracy.
    public var alwaysIncludes: [Double]

    /// An axis titled `title`.
    public init(title: String, scale: Scale = .linear, style: ValueStyle = .plain, alwaysIncludes: [Double] = []) {
        self.title = title
        self.scale = scale
        self.style = style
        self.alwaysIncludes = alwaysIncludes
    }

    /// Whether `value` has a place on this axis: finite, and positive on a logarithmic one.
    public func canPlace(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        if case .logarithmic = scale { return value > 0 }
        return true
    }

    /// Bounds and ticks that span `values` (those the axis can place) and ``alwaysIncludes``.
    public func layout(spanning values: [Double]) -> AxisLayout {
        let placed = (values + alwaysIncludes).filter(canPlace)
        switch scale {
        case .linear:
            return Self.linearLayout(placed)
        case .logarithmic(let base):
            return Self.logarithmicLayout(placed, base: base)
        }
    }

    /// The most ticks an axis carries; more would crowd their labels.
    static let maximumTicks = 8

    /// Ticks every 1, 2 or 5 times a power of ten, about five of them, with the bounds on ticks.
    static func linearLayout(_ values: [Double]) -> AxisLayout {
        var low = values.min() ?? 0, high = values.max() ?? 1
        if low == high {
            let margin = low == 0 ? 1 : low.magnitude / 10
            (low, high) = (low - margin, high + margin)
        }
        let step = niceStep(for: (high - low) / 5)
        guard step.isFinite, step > 0 else { return AxisLayout(lowerBound: low, upperBound: high, ticks: [low, high], scale: .linear) }
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        let ticks = (0...Int(min(last - first, Double(maximumTicks * 2)))).map { (first + Double($0)) * step }
        return AxisLayout(lowerBound: first * step, upperBound: last * step, ticks: ticks, scale: .linear)
    }

    /// The smallest of 1, 2, 5 and 10 times a power of ten that is at least `rough`.
    static func niceStep(for rough: Double) -> Double {
        let power = pow(10, log10(rough).rounded(.down))
        let fraction = rough / power
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * power
    }

    /// Bounds 5% (of the span, in logarithms) beyond the data. Ticks at powers of `base` (every
    /// 2nd, 5th, 10th… power over many decades); where fewer than three powers fall inside, at
    /// 1, 2 and 5 times powers of ten (base 10) or 1 and 1.5 times powers of the base (so 48 MiB,
    /// 64 MiB, 96 MiB); where still fewer than two, linear ticks inside the bounds.
    static func logarithmicLayout(_ values: [Double], base: Double) -> AxisLayout {
        let scale = Scale.logarithmic(base: base)
        guard let smallest = values.min(), let largest = values.max() else {
            return AxisLayout(lowerBound: 1, upperBound: base, ticks: [1, base], scale: scale)
        }
        var lowExponent = log(smallest) / log(base), highExponent = log(largest) / log(base)
        let margin = lowExponent == highExponent ? 0.5 : (highExponent - lowExponent) / 20
        lowExponent -= margin
        highExponent += margin
        let lower = pow(base, lowExponent), upper = pow(base, highExponent)
        // A hair of slack so a power sitting exactly on a bound survives rounding.
        let inside = { (tick: Double) in tick >= lower * (1 - 1e-9) && tick <= upper * (1 + 1e-9) }

        let firstPower = lowExponent.rounded(.up), lastPower = highExponent.rounded(.down)
        let powers = max(0, Int(lastPower - firstPower) + 1)
        // Every 1, 2, 5, 10… powers, so bytes land on KiB, MiB and GiB when they step by 10.
        let powerStep = powers > maximumTicks ? niceStep(for: Double(powers) / Double(maximumTicks)) : 1
        var ticks = stride(from: (firstPower / powerStep).rounded(.up) * powerStep, through: lastPower, by: powerStep)
            .map { pow(base, $0) }
        if ticks.count < 3 {
            let mantissas: [Double] = base == 10 ? [1, 2, 5] : [1, 1.5]
            let finer = stride(from: firstPower - 1, through: lastPower, by: 1)
                .flatMap { exponent in mantissas.map { $0 * pow(base, exponent) } }
                .filter(inside)
            if finer.count <= maximumTicks { ticks = finer }
        }
        if ticks.count < 2 {
            ticks = linearLayout([lower, upper]).ticks.filter { $0 > 0 && inside($0) }
        }
        return AxisLayout(lowerBound: lower, upperBound: upper, ticks: ticks, scale: scale)
    }
}
