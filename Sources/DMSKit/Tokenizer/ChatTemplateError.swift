/// Why a chat template cannot be used or rendered.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The Jinja source is not one of the templates ``ChatTemplate`` knows; `excerpt` is its beginning.
    case unrecognised(excerpt: String)
    /// The model has no chat template.
    case missing
    /// Tool definitions were passed; rendering them is not supported.
    case toolsNotSupported
    /// There are no messages (transformers refuses these too).
    case emptyConversation

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .unrecognised(excerpt):
            return "unrecognised chat template (supported: ChatML, SmolLM2, Qwen3); it begins: \(excerpt)"
        case .missing:
            return "the model has no chat template"
        case .toolsNotSupported:
            return "tool definitions are not supported by this chat template implementation"
        case .emptyConversation:
            return "cannot apply a chat template to an empty conversation"
        }
    }
}
