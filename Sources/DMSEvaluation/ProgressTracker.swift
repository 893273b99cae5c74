/// Counts the work an evaluation has done against what it planned, and reports it.
final class ProgressTracker {
    private let totalUnits: Double
    private var doneUnits = 0.0
    private let report: ((EvaluationProgress) -> Void)?

    init(totalUnits: Double, report: ((EvaluationProgress) -> Void)?) {
        self.totalUnits = max(totalUnits, 1)
        self.report = report
    }

    /// Work units of feeding `tokens` tokens.
    static func units(tokens: Int, feeding: PolicyUnderTest.Feeding) -> Double {
        Double(tokens) * (feeding == .chunked ? 1 : PolicyEvaluator.oneTokenAtATimeCost)
    }

    /// Records `tokens` more tokens fed and reports the stage's position.
    func advance(tokens: Int, feeding: PolicyUnderTest.Feeding, stage: String, position: Int, total: Int) {
        doneUnits += Self.units(tokens: tokens, feeding: feeding)
        report?(EvaluationProgress(stage: stage, position: position, total: total,
                                   fractionDone: min(1, doneUnits / totalUnits)))
    }
}
