/// How to build a sequence's KV cache: the policy and its knobs.
public struct KVCacheOptions: Sendable, Equatable {
    /// Eviction policies, as the CLI names them.
    public enum Policy: String, Sendable, CaseIterable {
        /// Keep everything.
        case full
        /// Dynamic Memory Sparsification: the model's own delayed eviction decisions.
        case dms
        /// StreamingLLM: attention sinks plus the most recent tokens.
        case streaming
        /// TOVA: drop the token the current query attends to least.
        case tova
        /// H2O: recent tokens plus heavy hitters by accumulated attention.
        case h2o
        /// Quest: keep everything, read only the best-bounded pages per query.
        case quest

        /// Policies that need `budget`.
        public var needsBudget: Bool { [.streaming, .tova, .h2o, .quest].contains(self) }
    }

    /// nil picks `dms` when the model has DMS decisions (a DMS checkpoint or an adapter), else `full`.
    public var policy: Policy?
    public var precision: FloatPrecision = .f16
    /// Slots per page (the original DMS code uses 256).
    public var pageSize = 256
    /// DMS delay window; nil uses the one the decisions were trained with.
    public var dmsWindow: Int?
    /// DMS evicts a token when its successor's logit exceeds this.
    public var dmsThreshold: Float = 0
    /// Leading tokens DMS never evicts; nil uses the number the decisions were trained with.
    public var dmsSinks: Int?
    /// Tokens kept (or read, for Quest) by the budget-based policies.
    public var budget: KVBudget?
    /// StreamingLLM's attention sinks (kvpress's default: 4).
    public var sinks = 4
    /// H2O's recent window; nil is half the budget.
    public var recentWindow: Int?

    public init(policy: Policy? = nil, precision: FloatPrecision = .f16) {
        self.policy = policy
        self.precision = precision
    }
}
