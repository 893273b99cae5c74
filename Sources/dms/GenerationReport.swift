import DMSKit

/// The single JSON object `dms generate --json` prints.
struct GenerationReport: Encodable {
    struct Timing: Encodable {
        var prefillTokensPerS: Double
        var decodeTokensPerS: Double
        var decodeMsPerTokenP50: Double
        var decodeMsPerTokenP99: Double

        enum CodingKeys: String, CodingKey {
            case prefillTokensPerS = "prefill_tokens_per_s"
            case decodeTokensPerS = "decode_tokens_per_s"
            case decodeMsPerTokenP50 = "decode_ms_per_token_p50"
            case decodeMsPerTokenP99 = "decode_ms_per_token_p99"
        }
    }

    var promptTokens: [Int]
    var tokens: [Int]
    var text: String
    var finishReason: String
    var timing: Timing
    var kv: KVReport

    init(_ result: GenerationResult, kv: KVReport) {
        promptTokens = result.promptTokens
        tokens = result.tokens
        text = result.text
        finishReason = result.finishReason.rawValue
        timing = Timing(prefillTokensPerS: result.timing.prefillTokensPerSecond,
                        decodeTokensPerS: result.timing.decodeTokensPerSecond,
                        decodeMsPerTokenP50: result.timing.decodeMillisecondsQuantile(0.5),
                        decodeMsPerTokenP99: result.timing.decodeMillisecondsQuantile(0.99))
        self.kv = kv
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case tokens, text
        case finishReason = "finish_reason"
        case timing, kv
    }
}
