/// A token that is matched verbatim in the input text before pre-tokenization, as Hugging Face's
/// `added_tokens` (GGUF: control and user-defined tokens).
public struct AddedToken: Sendable, Hashable {
    /// The token id.
    public var id: Int
    /// The exact text matched.
    public var content: String
    /// Special tokens (`<|im_start|>`, ...) are matched only when special-token parsing is on and are
    /// removed by `decode(_:skipSpecialTokens: true)`. Non-special added tokens are always matched.
    public var special: Bool
    /// Whether whitespace on the left of a match is absorbed into the token.
    public var lstrip: Bool
    /// Whether whitespace on the right of a match is absorbed into the token.
    public var rstrip: Bool

    /// An added token; see the properties for the flags.
    public init(id: Int, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
    }
}
