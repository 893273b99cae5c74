/// Why a forward pass was refused.
public enum ForwardError: Error, CustomStringConvertible, Sendable {
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case contextOverflow(needed: Int, contextLength: Int)
    case emptyInput
    /// A batched forward pass named the same cache for two segments.
    case cacheRepeated

    public var description: String {
        switch self {
        case .tokenOutOfRange(let token, let size):
            return "token id \(token) is outside the vocabulary (0..<\(size))"
        case .contextOverflow(let needed, let length):
            return "the sequence needs \(needed) positions but the model's context length is \(length)"
        case .emptyInput:
            return "no tokens to process"
        case .cacheRepeated:
            return "a batched forward pass names the same cache twice"
        }
    }
}
