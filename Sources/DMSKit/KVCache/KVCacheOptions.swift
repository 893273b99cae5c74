/// How to build a sequence's KV cache: the policy and its knobs.
public struct KVCacheOptions: Sendable, Equatable {
    /// Eviction policies, as the CLI names them.
    public enum Policy: String, Sendable, CaseIterable {
        /// Keep everything.
        case full
        /// Dynamic Memory Sparsification: the model's own delayed eviction decisions.
        case dms
    }

    /// nil picks `dms` when the model has DMS decisions (a DMS checkpoint or an adapter), else `full`.
    public var policy: Policy?
    public var precision: KVPrecision = .f16
    /// Slots per page (the original DMS code uses 256).
    public var pageSize = 256
    /// DMS delay window; nil uses the one the decisions were trained with.
    public var dmsWindow: Int?
    /// DMS evicts a token when its successor's logit exceeds this.
    public var dmsThreshold: Float = 0

    public init(policy: Policy? = nil, precision: KVPrecision = .f16) {
        self.policy = policy
        self.precision = precision
    }
}
