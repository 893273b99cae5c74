/// How text is cut into pre-tokens before byte-level BPE. Each case is one of the regular expressions
/// Hugging Face `tokenizers` and llama.cpp use; they are implemented by a hand-written scanner with the
/// exact leftmost-first, backtracking semantics of the regex.
public enum PreTokenizerKind: String, Sendable, Hashable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (tokenizers' `ByteLevel` pre-tokenizer with `use_regex`).
    case gpt2
    /// Every `\p{N}` character isolated first, then GPT-2 on each remaining stretch: tokenizers'
    /// `Sequence[Digits(individual_digits: true), ByteLevel(use_regex: true)]`, used by SmolLM/SmolLM2
    /// and StarCoder (GGUF `smollm`, `starcoder`, `refact`, `command-r`, `codeshell`, `exaone`, `minerva-7b`).
    case digitsThenGPT2
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// Qwen2/Qwen2.5/Qwen3: as ``llama3`` but digits one at a time (`\p{N}`).
    case qwen2

    /// The regular expression this kind implements (the `Split` pattern in `tokenizer.json`), for
    /// documentation and for recognising `tokenizer.json` pre-tokenizers.
    public var pattern: String {
        switch self {
        case .gpt2, .digitsThenGPT2:
            return #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .llama3:
            return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        case .qwen2:
            return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// The pre-tokenizer and tokenizer flags for a GGUF `tokenizer.ggml.pre` name, following llama.cpp's
    /// `llama_vocab::impl::load`. Returns nil for names we do not implement.
    static func ggufSettings(for name: String) -> (kind: PreTokenizerKind, ignoreMerges: Bool, addBos: Bool, nfc: Bool)? {
        switch name {
        case "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "exaone4":
            return (.gpt2, false, false, false)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return (.digitsThenGPT2, false, false, false)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral":
            return (.llama3, true, true, false)
        case "dbrx", "smaug-bpe":
            return (.llama3, false, false, false)
        case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2":
            // Qwen2's tokenizer.json normalizes to NFC; llama.cpp does not, Hugging Face does.
            return (.qwen2, false, false, name != "stablelm2")
        default:
            return nil
        }
    }

    /// GGUF names accepted, for error messages.
    static let supportedDescription =
        "GGUF tokenizer.ggml.pre gpt-2/gpt2/phi-2/mpt/olmo/jais/exaone4, smollm/starcoder/refact/command-r/codeshell/exaone/minerva-7b, "
        + "llama3/llama-v3/llama-bpe/falcon3/pixtral/dbrx/smaug-bpe, qwen2/deepseek-r1-qwen/megrez/stablelm2; "
        + "tokenizer.json ByteLevel(use_regex), Sequence[Digits(individual_digits), ByteLevel], "
        + "Sequence[Split(Llama 3 or Qwen2 regex, Isolated), ByteLevel(use_regex: false)]"
}
