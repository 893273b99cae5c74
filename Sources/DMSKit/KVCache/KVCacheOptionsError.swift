/// Why KV cache options cannot make a cache.
public enum KVCacheOptionsError: Error, CustomStringConvertible, Sendable {
    case missingBudget(String)
    case syntheticWithoutWindow

    public var description: String {
        switch self {
        case .missingBudget(let policy):
            return "--kv \(policy) needs a budget: --kv-budget TOKENS or --kv-ratio R"
        case .syntheticWithoutWindow:
            return "--synthetic-eviction needs an explicit --dms-window"
        }
    }
}
