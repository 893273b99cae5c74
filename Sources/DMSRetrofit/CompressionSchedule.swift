/// The compression ratio the retrofit aims at, rising linearly with the step (spec section 7.5):
/// `cr(step) = cr0 + (cr1 − cr0) · min(step / rampSteps, 1)`, held at `ceiling` once it gets
/// there; the eviction target is `1 − 1/cr`.
public struct CompressionSchedule: Sendable, Equatable {
    public var initialRatio: Double
    public var aimedRatio: Double
    public var rampSteps: Double
    /// The ratio is never asked to go above this (a hold phase at the target).
    public var ceiling: Double

    public init(initialRatio: Double, aimedRatio: Double, rampSteps: Double, ceiling: Double = .infinity) {
        self.initialRatio = initialRatio
        self.aimedRatio = aimedRatio
        self.rampSteps = rampSteps
        self.ceiling = ceiling
    }

    /// The ratio at `step` (1-based: the first optimizer step is 1).
    public func ratio(atStep step: Int) -> Double {
        min(ceiling, initialRatio + (aimedRatio - initialRatio) * min(Double(step) / max(rampSteps, 1e-9), 1))
    }

    /// The first step whose ratio reaches `ratio`, if one does within `steps`.
    public func firstStep(reaching ratio: Double, within steps: Int) -> Int? {
        (1...max(steps, 1)).first { self.ratio(atStep: $0) >= ratio - 1e-9 }
    }

    /// The eviction fraction the ratio asks for, `1 − 1/cr`.
    public func targetFraction(atStep step: Int) -> Double {
        1 - 1 / ratio(atStep: step)
    }
}
