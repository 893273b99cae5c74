/// The kind of a vocabulary entry, with GGUF's `tokenizer.ggml.token_type` numbering.
public enum TokenType: Int, Sendable, Hashable {
    /// A regular BPE token.
    case normal = 1
    /// The unknown token.
    case unknown = 2
    /// A control token such as `<|im_start|>`; matched in text only when special tokens are parsed,
    /// and dropped by `decode(_:skipSpecialTokens: true)`.
    case control = 3
    /// A user-defined (added, non-special) token such as Qwen3's `<think>`; always matched in text.
    case userDefined = 4
    /// An unused slot.
    case unused = 5
    /// A raw byte token (`<0x0A>`), used by SentencePiece models only.
    case byte = 6
}
