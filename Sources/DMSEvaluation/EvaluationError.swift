import Foundation

/// Why an evaluation cannot run.
public enum EvaluationError: Error, LocalizedError, Equatable {
    /// A setting is out of range or inconsistent with another.
    case invalidSetting(String)
    /// The text tokenizes to nothing.
    case emptyText
    /// The text has fewer tokens than the evaluation sequence needs.
    case textTooShort(tokens: Int, needed: Int)
    /// The sequence (plus a continuation) does not fit the model's context.
    case exceedsContext(needed: Int, contextLength: Int)

    public var errorDescription: String? {
        switch self {
        case .invalidSetting(let message):
            return message
        case .emptyText:
            return "the text is empty (no tokens to evaluate)"
        case .textTooShort(let tokens, let needed):
            return "the text has \(tokens) tokens, fewer than the \(needed) that --length asks for; give a longer text or a smaller --length"
        case .exceedsContext(let needed, let contextLength):
            return "the evaluation needs \(needed) positions (--length, plus --continuation-length - 1 with continuations), "
                + "more than the model's context length \(contextLength)"
        }
    }
}
