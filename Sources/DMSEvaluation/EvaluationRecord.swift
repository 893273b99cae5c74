/// One measured point of an evaluation run: a task at one context length, one policy at one
/// setting. `dms eval --out DIR` writes these as JSON lines (`results.jsonl`) and CSV
/// (`results.csv`); `dms report DIR` reads them back for its plots and tables.
public struct EvaluationRecord: Sendable, Equatable, Codable {
    /// `passkey`, `variable-tracking`, `kl`, `perplexity` or `latency`.
    public var task: String
    /// Context length in tokens (the prompt length the task was generated for).
    public var length: Int
    /// `full`, `dms`, `streaming`, `tova`, `h2o` or `quest`.
    public var policy: String
    /// What distinguishes this point from others of the same policy, for labels: `ratio 4` for a
    /// budget policy, the adapter file's name for DMS, empty for the full cache.
    public var setting: String
    /// The ratio a budget policy was asked for; nil for full and dms.
    public var requestedRatio: Double?
    /// How a budget policy's ratio became its token budget; nil for full and dms (and in records
    /// written before this field, whose baselines were proportional unless the setting says
    /// `fixed budget`).
    public var baselineBudget: BaselineBudget?
    /// Tokens seen / mean physical slots in use at the end of the context (the engine's
    /// ``KVStatistics/compressionRatio``), averaged over samples.
    public var compressionRatio: Double
    /// Name of the quality figure in ``value``: `accuracy`, `kl_nats_per_token`,
    /// `perplexity_ratio` or `decode_latency_ms`.
    public var metric: String
    /// The quality figure.
    public var value: Double
    /// Whether a larger ``value`` is better (accuracy) or worse (KL, perplexity, latency).
    public var higherIsBetter: Bool
    /// Samples (prompts) averaged.
    public var samples: Int
    /// Decode-phase KV slots read per sample, summed over layers and KV heads (the paper's KV
    /// token reads).
    public var tokenReads: Double
    /// Peak resident (layer, KV head, token) entries and the page pool's peak bytes, the
    /// largest over samples.
    public var peakKVTokens: Int
    public var peakKVBytes: Int
    /// Per-token decode latency over every decode step of the run, milliseconds; nil when the
    /// task decodes nothing.
    public var decodeLatencyP50Milliseconds: Double?
    public var decodeLatencyP99Milliseconds: Double?
    /// Decode tokens per second over the run; nil when the task decodes nothing.
    public var decodeTokensPerSecond: Double?

    public init(task: String, length: Int, policy: String, setting: String, requestedRatio: Double?,
                baselineBudget: BaselineBudget? = nil, compressionRatio: Double, metric: String, value: Double, higherIsBetter: Bool, samples: Int,
                tokenReads: Double, peakKVTokens: Int, peakKVBytes: Int, decodeLatencyP50Milliseconds: Double?,
                decodeLatencyP99Milliseconds: Double?, decodeTokensPerSecond: Double?) {
        self.task = task
        self.length = length
        self.policy = policy
        self.setting = setting
        self.requestedRatio = requestedRatio
        self.baselineBudget = baselineBudget
        self.compressionRatio = compressionRatio
        self.metric = metric
        self.value = value
        self.higherIsBetter = higherIsBetter
        self.samples = samples
        self.tokenReads = tokenReads
        self.peakKVTokens = peakKVTokens
        self.peakKVBytes = peakKVBytes
        self.decodeLatencyP50Milliseconds = decodeLatencyP50Milliseconds
        self.decodeLatencyP99Milliseconds = decodeLatencyP99Milliseconds
        self.decodeTokensPerSecond = decodeTokensPerSecond
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case task, length, policy, setting
        case requestedRatio = "requested_ratio"
        case baselineBudget = "baseline_budget"
        case compressionRatio = "compression_ratio"
        case metric, value
        case higherIsBetter = "higher_is_better"
        case samples
        case tokenReads = "token_reads"
        case peakKVTokens = "peak_kv_tokens"
        case peakKVBytes = "peak_kv_bytes"
        case decodeLatencyP50Milliseconds = "decode_latency_p50_ms"
        case decodeLatencyP99Milliseconds = "decode_latency_p99_ms"
        case decodeTokensPerSecond = "decode_tokens_per_s"
    }

    /// Every key is written; absent values as null, so each JSON line has the same columns.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(task, forKey: .task)
        try container.encode(length, forKey: .length)
        try container.encode(policy, forKey: .policy)
        try container.encode(setting, forKey: .setting)
        try container.encode(requestedRatio, forKey: .requestedRatio)
        try container.encode(baselineBudget, forKey: .baselineBudget)
        try container.encode(compressionRatio, forKey: .compressionRatio)
        try container.encode(metric, forKey: .metric)
        try container.encode(value, forKey: .value)
        try container.encode(higherIsBetter, forKey: .higherIsBetter)
        try container.encode(samples, forKey: .samples)
        try container.encode(tokenReads, forKey: .tokenReads)
        try container.encode(peakKVTokens, forKey: .peakKVTokens)
        try container.encode(peakKVBytes, forKey: .peakKVBytes)
        try container.encode(decodeLatencyP50Milliseconds, forKey: .decodeLatencyP50Milliseconds)
        try container.encode(decodeLatencyP99Milliseconds, forKey: .decodeLatencyP99Milliseconds)
        try container.encode(decodeTokensPerSecond, forKey: .decodeTokensPerSecond)
    }

    /// The line this record belongs to in plots and lists of policies: the policy, with ` (fixed
    /// budget)` for a baseline kept at a fixed budget, which is another line than the same policy
    /// kept at `seen / R`.
    public var series: String { baselineBudget == .fixed ? "\(policy) (fixed budget)" : policy }

    /// The CSV header: the JSON keys in order.
    public static var csvHeader: String { CodingKeys.allCases.map(\.rawValue).joined(separator: ",") }
}
