import DMSKit

/// The request extension `"kv": {"policy": "tova", "ratio": 8}`: this request's KV cache policy
/// and budget instead of the server's.
struct KVOverride: Decodable, Sendable {
    var policy: KVCacheOptions.Policy?
    var ratio: Double?
    var budgetTokens: Int?

    private enum CodingKeys: String, CodingKey {
        case policy, ratio
        case budgetTokens = "budget_tokens"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try container.decodeIfPresent(String.self, forKey: .policy) {
            guard let policy = KVCacheOptions.Policy(rawValue: name) else {
                let names = KVCacheOptions.Policy.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.invalidRequest("Unknown KV cache policy '\(name)' (one of: \(names)).", param: "kv.policy")
            }
            self.policy = policy
        }
        ratio = try container.decodeIfPresent(Double.self, forKey: .ratio)
        budgetTokens = try container.decodeIfPresent(Int.self, forKey: .budgetTokens)
    }

    func validate() throws {
        if ratio != nil && budgetTokens != nil {
            throw APIError.invalidRequest("Give at most one of 'kv.ratio' and 'kv.budget_tokens'.", param: "kv")
        }
        if let ratio, !(ratio >= 1 && ratio.isFinite) {
            throw APIError.invalidRequest("'kv.ratio' must be at least 1.", param: "kv.ratio")
        }
        if let budgetTokens, budgetTokens < 1 {
            throw APIError.invalidRequest("'kv.budget_tokens' must be at least 1.", param: "kv.budget_tokens")
        }
    }

    /// `base` (the server's cache options) with this policy and budget. A budget policy without
    /// its own ratio or budget takes the server's, and is refused when the server has none.
    func applied(to base: KVCacheOptions) throws -> KVCacheOptions {
        var options = base
        if let policy { options.policy = policy }
        if let budget = budgetTokens.map(KVBudget.tokens) ?? ratio.map(KVBudget.ratio) { options.budget = budget }
        if let policy, policy.needsBudget, options.budget == nil {
            throw APIError.invalidRequest(
                "The '\(policy.rawValue)' policy needs 'kv.ratio' or 'kv.budget_tokens' (the server sets no default budget).",
                param: "kv")
        }
        return options
    }
}
