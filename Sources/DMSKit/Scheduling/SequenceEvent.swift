/// What a scheduled sequence reports, in order: tokens, then one `finished`.
public enum SequenceEvent: Sendable {
    /// A generated token and the text it completed (may be empty while a UTF-8 character or a
    /// possible stop string is incomplete).
    case token(GeneratedToken)
    /// Generation ended; no event follows.
    case finished(SequenceSummary)
}

/// How a sequence ended and what it cost.
public struct SequenceSummary: Sendable {
    public var finishReason: FinishReason
    public var promptTokens: Int
    public var completionTokens: Int
    /// Times the sequence was preempted (its pages freed) and recomputed.
    public var preemptions: Int
    /// The cache's statistics when the sequence ended (compression ratio, token reads, ...).
    public var kv: KVStatistics

    public init(finishReason: FinishReason, promptTokens: Int, completionTokens: Int, preemptions: Int, kv: KVStatistics) {
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.preemptions = preemptions
        self.kv = kv
    }
}
