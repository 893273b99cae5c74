/// The compression ratio the retrofit aims at, rising linearly with the step (spec section 7.5):
/// `cr(step) = cr0 + (cr1 − cr0) · min(step / rampSteps, 1)`; the eviction target is `1 − 1/cr`.
public struct CompressionSchedule: Sendable, Equatable {
    public var initialRatio: Double
    public var aimedRatio: Double
    public var rampSteps: Double

    public init(initialRatio: Double, aimedRatio: Double, rampSteps: Double) {
        self.initialRatio = initialRatio
        self.aimedRatio = aimedRatio
        self.rampSteps = rampSteps
    }

    /// The ratio at `step` (1-based: the first optimizer step is 1).
    public func ratio(atStep step: Int) -> Double {
        initialRatio + (aimedRatio - initialRatio) * min(Double(step) / max(rampSteps, 1e-9), 1)
    }

    /// The eviction fraction the ratio asks for, `1 − 1/cr`.
    public func targetFraction(atStep step: Int) -> Double {
        1 - 1 / ratio(atStep: step)
    }
}
