import DMSKit
import Foundation

/// One KV cache configuration an evaluation runs: a policy, the ratio its budget was asked for,
/// and the cache options that build it.
public struct PolicyUnderTest: Sendable, Equatable {
    /// How a policy's tokens are fed during teacher forcing.
    public enum Feeding: Sendable, Equatable {
        /// In prefill chunks (full and dms: a chunk gives each position exactly what feeding it
        /// alone would, since their visibility does not depend on the queries).
        case chunked
        /// One token per forward call, like generation (the budget-based policies, whose
        /// evictions depend on each query).
        case oneTokenAtATime
    }

    /// The eviction policy.
    public var policy: KVCacheOptions.Policy
    /// The compression ratio the budget was set to; nil for full and dms.
    public var requestedRatio: Double?
    /// How the ratio became a budget; nil for full and dms.
    public var budgetStyle: BaselineBudget?
    /// Options the cache is built from (precision, DMS window and threshold, budget, sinks, ...).
    public var cacheOptions: KVCacheOptions

    /// `policy` under `baseOptions`, with a budget of `ratio` for the budget-based policies:
    /// `seen / ratio` tokens at every position, or with `fixedLength` a fixed `fixedLength / ratio`.
    public init(policy: KVCacheOptions.Policy, ratio: Double? = nil, baseOptions: KVCacheOptions = KVCacheOptions(),
                fixedLength: Int? = nil) {
        self.policy = policy
        var options = baseOptions
        options.policy = policy
        if policy.needsBudget, let ratio {
            let style: BaselineBudget = fixedLength == nil ? .proportional : .fixed
            options.budget = style.budget(ratio: ratio, length: fixedLength ?? 0)
            requestedRatio = ratio
            budgetStyle = style
        } else {
            options.budget = policy.needsBudget ? baseOptions.budget : nil
            requestedRatio = nil
            budgetStyle = nil
        }
        cacheOptions = options
    }

    /// Chunks for full and dms, one token at a time for the budget-based policies.
    public var feeding: Feeding { policy.needsBudget ? .oneTokenAtATime : .chunked }

    /// The policy's name, with the requested ratio for the baselines (`streaming@4.00x`, or
    /// `streaming@4.00x fixed` for a fixed budget).
    public var label: String {
        guard let requestedRatio else { return policy.rawValue }
        return "\(policy.rawValue)@\(String(format: "%.2f", requestedRatio))x" + (budgetStyle == .fixed ? " fixed" : "")
    }
}
