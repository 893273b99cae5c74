/// How well a policy follows the full cache's greedy continuations: per continuation, the
/// fraction of positions where the policy's argmax is the full cache's token, and the length of
/// the initial run of such positions; both averaged over continuations.
public struct ContinuationAgreement: Sendable, Equatable {
    /// Continuations recorded.
    public private(set) var continuations = 0
    private var fractionSum = 0.0
    private var initialRunSum = 0

    /// No continuations yet.
    public init() {}

    /// Records one continuation: `matches[j]` is whether the policy's argmax at its j-th position
    /// was the full cache's j-th token.
    public mutating func add(matches: [Bool]) {
        guard !matches.isEmpty else { return }
        continuations += 1
        fractionSum += Double(matches.filter { $0 }.count) / Double(matches.count)
        initialRunSum += matches.firstIndex(of: false) ?? matches.count
    }

    /// Mean fraction of agreeing positions; nil before any continuation.
    public var meanAgreement: Double? { continuations > 0 ? fractionSum / Double(continuations) : nil }

    /// Mean number of agreeing positions before the first disagreement; nil before any continuation.
    public var meanInitialRun: Double? { continuations > 0 ? Double(initialRunSum) / Double(continuations) : nil }
}
