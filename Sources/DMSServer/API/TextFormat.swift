import DMSKit

/// `POST /v1/completions`: `text_completion` responses and stream chunks.
enum TextFormat: CompletionFormat {
    static let object = "text_completion"
    static let chunkObject = "text_completion"
    static let idPrefix = "cmpl-"
    static let promptParameter = "prompt"

    struct Choice: Encodable, Sendable {
        var text: String
        var index: Int
        var logprobs = JSONNull()
        var finishReason: String
        /// Extension: the choice's KV cache statistics.
        var kv: KVReport

        private enum CodingKeys: String, CodingKey {
            case text, index, logprobs, kv
            case finishReason = "finish_reason"
        }
    }

    struct ChunkChoice: Encodable, Sendable {
        var text: String
        var index: Int
        var logprobs = JSONNull()
        @NullWhenAbsent var finishReason: String?

        private enum CodingKeys: String, CodingKey {
            case text, index, logprobs
            case finishReason = "finish_reason"
        }
    }

    static func choice(_ completed: CompletedChoice) -> Choice {
        Choice(text: completed.text, index: completed.index, finishReason: completed.summary.finishReason.rawValue,
               kv: KVReport(completed.summary.kv))
    }

    static func openingChunk(index: Int) -> ChunkChoice? { nil }

    static func chunk(index: Int, text: String, finishReason: FinishReason?) -> ChunkChoice {
        ChunkChoice(text: text, index: index, finishReason: finishReason?.rawValue)
    }
}
