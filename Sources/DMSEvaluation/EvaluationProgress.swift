/// Where a running evaluation is, for a progress display.
public struct EvaluationProgress: Sendable, Equatable {
    /// What runs now: a policy label, `full (reference)`, or a continuation step.
    public var stage: String
    /// Tokens the current stage has processed, of `total`.
    public var position: Int
    /// Tokens the current stage processes in all.
    public var total: Int
    /// Estimated fraction of the whole evaluation done, in [0, 1] (a token fed alone is weighted
    /// as ``PolicyEvaluator/oneTokenAtATimeCost`` tokens fed in a chunk).
    public var fractionDone: Double

    /// A progress report.
    public init(stage: String, position: Int, total: Int, fractionDone: Double) {
        self.stage = stage
        self.position = position
        self.total = total
        self.fractionDone = fractionDone
    }
}
