import DMSKit

/// One point of a task's comparison: a cache policy at one setting (a baseline's ratio, or the
/// DMS adapter attached while it runs).
public struct TaskSetting: Sendable, Equatable {
    /// The cache to build.
    public var options: KVCacheOptions
    /// The DMS adapter to attach before running (nil: the model's own decisions, or none).
    public var adapter: String?
    /// The label in results: `ratio 4` for a baseline, the adapter's file name for DMS, empty for full.
    public var label: String

    public init(options: KVCacheOptions, adapter: String? = nil, label: String) {
        self.options = options
        self.adapter = adapter
        self.label = label
    }

    /// The policy's name (`full`, `dms`, ...).
    public var policyName: String { options.policy?.rawValue ?? "full" }
}
