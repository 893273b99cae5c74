import DMSKit

/// How a baseline's compression ratio R becomes its token budget in a teacher-forced evaluation.
public enum BaselineBudget: String, Sendable, CaseIterable, Codable {
    /// Keep `seen / R` tokens at every position (`KVBudget.ratio`): the ratio holds all along,
    /// so early positions are compressed as much as late ones.
    case proportional
    /// Keep `length / R` tokens from the start (`KVBudget.tokens`): the peak memory of a cache
    /// that reaches R at the end of the sequence; positions before `length / R` see everything,
    /// as a fixed-size cache behaves.
    case fixed

    /// The budget for ratio `ratio` over a sequence of `length` tokens.
    public func budget(ratio: Double, length: Int) -> KVBudget {
        switch self {
        case .proportional: return .ratio(ratio)
        case .fixed: return .tokens(max(1, Int((Double(length) / ratio).rounded(.up))))
        }
    }

    /// A baseline's setting as results name it: `ratio 4`, or `ratio 4, fixed budget`.
    public func setting(_ ratioLabel: String) -> String {
        self == .fixed ? ratioLabel + ", fixed budget" : ratioLabel
    }
}
