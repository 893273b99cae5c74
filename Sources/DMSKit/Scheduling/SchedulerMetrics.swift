/// A snapshot of a ``BatchScheduler``'s counters and gauges (what `/metrics` exports).
public struct SchedulerMetrics: Sendable, Equatable {
    /// Sequences submitted, finished (stop or length), cancelled and failed since start.
    public var submitted = 0
    public var finished = 0
    public var cancelled = 0
    public var failed = 0
    /// Times a running sequence was preempted to free pages for others.
    public var preemptions = 0
    /// Prompt tokens processed (recomputation included) and tokens generated since start.
    public var promptTokens = 0
    public var generatedTokens = 0
    /// Prompt tokens that choices sharing a prompt took from a copy of its cache instead of reading.
    public var sharedPromptTokens = 0
    /// Forward steps run and the tokens they carried.
    public var steps = 0
    public var batchedTokens = 0
    /// Sequences running and waiting now.
    public var active = 0
    public var queued = 0
    /// Running sequences past their prompt (generating rather than reading).
    public var decoding = 0
    /// KV page memory in use now, its peak, and the budget.
    public var kvBytesInUse = 0
    public var kvPeakBytes = 0
    public var kvBudgetBytes = 0
    /// Tokens seen by the running sequences over their resident (layer, head, token) entries per
    /// head: the aggregate compression ratio (1 with nothing running).
    public var compressionRatio = 1.0
    /// Generated tokens per second over the last few seconds.
    public var recentTokensPerSecond = 0.0
    /// Seconds since the scheduler started.
    public var uptimeSeconds = 0.0

    public init() {}
}
