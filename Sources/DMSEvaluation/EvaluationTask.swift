/// What `dms eval` measures.
public enum EvaluationTask: String, Sendable, CaseIterable, Codable {
    /// Every policy against the full cache: KL divergence of the next-token distributions, top-1
    /// agreement, perplexity, and greedy agreement over continuations.
    case kl
    /// Each policy's perplexity of the text only (no reference run, no continuations).
    case perplexity
}
