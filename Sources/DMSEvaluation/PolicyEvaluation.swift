/// One row of an evaluation: how a policy did on the sequence, next to the full cache.
public struct PolicyEvaluation: Sendable, Equatable, Encodable {
    /// `full`, `dms`, `streaming`, `tova`, `h2o` or `quest`.
    public var policy: String
    /// The compression ratio the baseline's budget asked for (`KVBudget.ratio`); nil for full and dms.
    public var requestedRatio: Double?
    /// How the baseline's ratio became its budget; nil for full and dms.
    public var budget: BaselineBudget?
    /// How the sequence was fed: `chunked` or `one_token_at_a_time`.
    public var feeding: String
    /// Tokens of the sequence processed.
    public var tokens: Int
    /// Positions scored: every position with a next token (tokens − 1).
    public var scoredPositions: Int
    /// Tokens seen / mean physical slots in use over layers and KV heads at the end of the sequence
    /// (``KVStatistics/compressionRatio``; DMS's window slots count as in use).
    public var compressionRatio: Double
    /// Mean KL(full ‖ policy) of the next-token distributions, nats per token; nil in the
    /// perplexity task.
    public var klDivergence: Double?
    /// Mean −log p(actual next token), nats.
    public var meanNegativeLogLikelihood: Double
    /// exp(``meanNegativeLogLikelihood``).
    public var perplexity: Double
    /// perplexity / the full cache's perplexity; nil when the full cache did not run.
    public var perplexityRatio: Double?
    /// Fraction of positions whose most likely token is the full cache's; nil in the perplexity task.
    public var top1Agreement: Double?
    /// Mean fraction of a greedy continuation of the full cache that the policy, teacher-forced
    /// on it, predicts as its own argmax; nil without continuations.
    public var continuationAgreement: Double?
    /// Mean number of continuation tokens predicted before the first miss; nil without continuations.
    public var continuationInitialRun: Double?
    /// Continuations averaged.
    public var continuations: Int
    /// Slots read summed over positions, layers and KV heads (every position counts as a decode step).
    public var tokenReads: Int
    /// Peak resident (layer, KV head, token) entries.
    public var peakTokens: Int
    /// Peak bytes of the cache's page pool.
    public var peakBytes: Int
    /// Time in the policy's forward passes over the sequence (scoring arithmetic excluded).
    public var seconds: Double
    /// tokens / seconds.
    public var tokensPerSecond: Double

    /// A row with every figure given.
    public init(policy: String, requestedRatio: Double?, budget: BaselineBudget? = nil, feeding: String, tokens: Int, scoredPositions: Int,
                compressionRatio: Double, klDivergence: Double?, meanNegativeLogLikelihood: Double, perplexity: Double,
                perplexityRatio: Double?, top1Agreement: Double?, continuationAgreement: Double?,
                continuationInitialRun: Double?, continuations: Int, tokenReads: Int, peakTokens: Int, peakBytes: Int,
                seconds: Double, tokensPerSecond: Double) {
        self.policy = policy
        self.requestedRatio = requestedRatio
        self.budget = budget
        self.feeding = feeding
        self.tokens = tokens
        self.scoredPositions = scoredPositions
        self.compressionRatio = compressionRatio
        self.klDivergence = klDivergence
        self.meanNegativeLogLikelihood = meanNegativeLogLikelihood
        self.perplexity = perplexity
        self.perplexityRatio = perplexityRatio
        self.top1Agreement = top1Agreement
        self.continuationAgreement = continuationAgreement
        self.continuationInitialRun = continuationInitialRun
        self.continuations = continuations
        self.tokenReads = tokenReads
        self.peakTokens = peakTokens
        self.peakBytes = peakBytes
        self.seconds = seconds
        self.tokensPerSecond = tokensPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case policy
        case requestedRatio = "requested_ratio"
        case budget, feeding, tokens
        case scoredPositions = "scored_positions"
        case compressionRatio = "compression_ratio"
        case klDivergence = "kl_nats_per_token"
        case meanNegativeLogLikelihood = "mean_nll"
        case perplexity
        case perplexityRatio = "perplexity_ratio"
        case top1Agreement = "top1_agreement"
        case continuationAgreement = "continuation_agreement"
        case continuationInitialRun = "continuation_initial_run"
        case continuations
        case tokenReads = "token_reads"
        case peakTokens = "peak_tokens"
        case peakBytes = "peak_bytes"
        case seconds
        case tokensPerSecond = "tokens_per_s"
    }

    /// Every key is written; absent values as null.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policy, forKey: .policy)
        try container.encode(requestedRatio, forKey: .requestedRatio)
        try container.encode(budget?.rawValue, forKey: .budget)
        try container.encode(feeding, forKey: .feeding)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(scoredPositions, forKey: .scoredPositions)
        try container.encode(compressionRatio, forKey: .compressionRatio)
        try container.encode(klDivergence, forKey: .klDivergence)
        try container.encode(meanNegativeLogLikelihood, forKey: .meanNegativeLogLikelihood)
        try container.encode(perplexity, forKey: .perplexity)
        try container.encode(perplexityRatio, forKey: .perplexityRatio)
        try container.encode(top1Agreement, forKey: .top1Agreement)
        try container.encode(continuationAgreement, forKey: .continuationAgreement)
        try container.encode(continuationInitialRun, forKey: .continuationInitialRun)
        try container.encode(continuations, forKey: .continuations)
        try container.encode(tokenReads, forKey: .tokenReads)
        try container.encode(peakTokens, forKey: .peakTokens)
        try container.encode(peakBytes, forKey: .peakBytes)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(tokensPerSecond, forKey: .tokensPerSecond)
    }
}

extension PolicyEvaluation {
    /// This row as a point of `task` at `length` tokens: the KL (kl task) or the perplexity
    /// ratio (perplexity task, the perplexity itself when the full cache did not run).
    public func record(task: EvaluationTask, length: Int) -> EvaluationRecord {
        let (metric, value): (String, Double) = switch task {
        case .kl: ("kl_nats_per_token", klDivergence ?? 0)
        default: perplexityRatio.map { ("perplexity_ratio", $0) } ?? ("perplexity", perplexity)
        }
        return EvaluationRecord(
            task: task.rawValue, length: length, policy: policy,
            setting: requestedRatio.map { ratio in
                let label = "ratio \(String(format: "%g", ratio))"
                return budget?.setting(label) ?? label
            } ?? "",
            requestedRatio: requestedRatio, baselineBudget: budget,
            compressionRatio: compressionRatio, metric: metric, value: value, higherIsBetter: false, samples: 1,
            tokenReads: Double(tokenReads), peakKVTokens: peakTokens, peakKVBytes: peakBytes,
            decodeLatencyP50Milliseconds: nil, decodeLatencyP99Milliseconds: nil, decodeTokensPerSecond: nil)
    }
}
