/// Why a tokenizer could not be built.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The tokenizer is not a byte-level BPE tokenizer (for example a SentencePiece/Unigram model).
    case unsupportedModel(String)
    /// A key the tokenizer needs is absent.
    case missingKey(String)
    /// A key is present but its value has the wrong type or shape.
    case invalidValue(key: String, reason: String)
    /// A file is not valid JSON or not of the expected structure.
    case badJSON(file: String, reason: String)
    /// The pre-tokenizer (GGUF `tokenizer.ggml.pre` name or `tokenizer.json` pre-tokenizer) is not one we implement.
    case unknownPreTokenizer(String)
    /// A `tokenizer.json` component (normalizer, decoder, ...) that is not supported.
    case unsupportedComponent(String)
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .unsupportedModel(name):
            return "unsupported tokenizer model '\(name)': only byte-level BPE (GGUF 'gpt2', tokenizer.json 'BPE' with ByteLevel) is supported"
        case let .missingKey(key):
            return "tokenizer metadata is missing the key '\(key)'"
        case let .invalidValue(key, reason):
            return "tokenizer metadata key '\(key)' is invalid: \(reason)"
        case let .badJSON(file, reason):
            return "\(file): not a valid tokenizer file: \(reason)"
        case let .unknownPreTokenizer(name):
            return "unknown pre-tokenizer '\(name)'; supported: \(PreTokenizerKind.supportedDescription)"
        case let .unsupportedComponent(what):
            return "unsupported tokenizer component: \(what)"
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        }
    }
}
