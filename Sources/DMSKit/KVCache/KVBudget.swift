import Foundation

/// How many tokens a budget-based policy may keep per (layer, KV head).
public enum KVBudget: Sendable, Equatable {
    /// A fixed number of tokens.
    case tokens(Int)
    /// A compression ratio relative to the sequence so far: keep `ceil(seen / ratio)` tokens, so
    /// policies can be compared with DMS at equal ratios.
    case ratio(Double)

    /// The budget once `seen` tokens have been appended, never below `minimum`.
    public func limit(seen: Int, minimum: Int = 1) -> Int {
        switch self {
        case .tokens(let count):
            return max(count, minimum)
        case .ratio(let ratio):
            return max(Int((Double(seen) / ratio).rounded(.up)), minimum)
        }
    }
}
