/// Why a ``BatchScheduler`` refuses or ends a sequence.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// The prompt plus at least one generated token does not fit in the model's context.
    case promptTooLong(tokens: Int, contextLength: Int)
    /// The request is malformed (empty prompt, `maxTokens` < 1, a cache policy without a budget, ...).
    case invalidRequest(String)
    /// The sequence alone needs more KV pages than the whole budget holds.
    case exceedsKVBudget(pagesNeeded: Int, pageLimit: Int)
    /// The scheduler is shutting down or has stopped.
    case shuttingDown
    /// The model failed on this sequence's batch.
    case engineFailure(String)

    public var description: String {
        switch self {
        case .promptTooLong(let tokens, let contextLength):
            return "the prompt has \(tokens) tokens; with at least one generated token it must fit in the model's context of \(contextLength)"
        case .invalidRequest(let message):
            return message
        case .exceedsKVBudget(let pagesNeeded, let pageLimit):
            return "the sequence needs \(pagesNeeded) KV pages but the whole KV budget is \(pageLimit) pages"
        case .shuttingDown:
            return "the server is shutting down"
        case .engineFailure(let message):
            return "the model failed: \(message)"
        }
    }
}
