/// Everything a byte-level BPE ``Tokenizer`` is built from, independent of the file it came from.
///
/// Build one with ``init(tokenizerJSON:tokenizerConfig:)`` (Hugging Face files) or
/// ``init(ggufMetadata:)`` (GGUF), or fill it in directly.
public struct TokenizerData: Sendable {
    /// Vocabulary entries by id, in byte-level spelling (`Ġworld`); added tokens as their plain text.
    public var tokens: [String]
    /// Merge rules; a rule's rank is its index (lower ranks merge first).
    public var merges: [BPEMerge]
    /// Kind of each token by id (same count as ``tokens``, or empty for all-normal).
    public var tokenTypes: [TokenType]
    /// Tokens matched verbatim in the text before pre-tokenization (special and non-special).
    public var addedTokens: [AddedToken]
    /// Beginning-of-sequence token, if any.
    public var bosTokenId: Int?
    /// End-of-sequence token, if any.
    public var eosTokenId: Int?
    /// Padding token, if any.
    public var padTokenId: Int?
    /// Unknown token, if any (unused by byte-level BPE, kept for completeness).
    public var unknownTokenId: Int?
    /// How text is cut into pre-tokens.
    public var preTokenizer: PreTokenizerKind
    /// Whether a space is put in front of text that does not start with one (ByteLevel `add_prefix_space`).
    public var addPrefixSpace: Bool
    /// Whether text is put in Unicode NFC before pre-tokenization (Qwen2's `NFC` normalizer).
    public var normalizeNFC: Bool
    /// Whether a pre-token that is itself a vocabulary entry is taken whole, without merging
    /// (`ignore_merges`, Llama 3).
    public var ignoreMerges: Bool
    /// Whether `encode(_:addSpecialTokens: true)` starts with ``bosTokenId``.
    public var addBosToken: Bool
    /// The Jinja chat template, if the model has one.
    public var chatTemplate: String?

    /// Fills in every field; see the properties for their meaning.
    public init(
        tokens: [String],
        merges: [BPEMerge],
        tokenTypes: [TokenType] = [],
        addedTokens: [AddedToken] = [],
        bosTokenId: Int? = nil,
        eosTokenId: Int? = nil,
        padTokenId: Int? = nil,
        unknownTokenId: Int? = nil,
        preTokenizer: PreTokenizerKind,
        addPrefixSpace: Bool = false,
        normalizeNFC: Bool = false,
        ignoreMerges: Bool = false,
        addBosToken: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.tokens = tokens
        self.merges = merges
        self.tokenTypes = tokenTypes
        self.addedTokens = addedTokens
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
        self.unknownTokenId = unknownTokenId
        self.preTokenizer = preTokenizer
        self.addPrefixSpace = addPrefixSpace
        self.normalizeNFC = normalizeNFC
        self.ignoreMerges = ignoreMerges
        self.addBosToken = addBosToken
        self.chatTemplate = chatTemplate
    }
}
