/// What `dms eval` measures.
public enum EvaluationTask: String, Sendable, CaseIterable, Codable {
    /// Every policy against the full cache: KL divergence of the next-token distributions, top-1
    /// agreement, perplexity, and greedy agreement over continuations.
    case kl
    /// Each policy's perplexity of the text only (no reference run, no continuations).
    case perplexity
    /// A pass key planted in long prose and asked for at the end: exact-match accuracy.
    case passkey
    /// A chain of variable assignments spread through long prose (RULER): the fraction of the
    /// chain's variables the model names.
    case variableTracking = "variable-tracking"
    /// Per-token decode latency after a prompt of each length.
    case latency

    /// Tasks that feed one prompt per sample and generate (``TaskEvaluator``), rather than
    /// scoring a text position by position (``PolicyEvaluator``).
    public var generates: Bool { self == .passkey || self == .variableTracking || self == .latency }
}
