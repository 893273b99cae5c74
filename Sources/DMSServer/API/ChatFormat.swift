import DMSKit

/// `POST /v1/chat/completions`: `chat.completion` responses and `chat.completion.chunk` events.
enum ChatFormat: CompletionFormat {
    static let object = "chat.completion"
    static let chunkObject = "chat.completion.chunk"
    static let idPrefix = "chatcmpl-"
    static let promptParameter = "messages"

    struct Message: Encodable, Sendable {
        var role = "assistant"
        var content: String
    }

    struct Choice: Encodable, Sendable {
        var index: Int
        var message: Message
        var logprobs = JSONNull()
        var finishReason: String
        /// Extension: the choice's KV cache statistics.
        var kv: KVReport

        private enum CodingKeys: String, CodingKey {
            case index, message, logprobs, kv
            case finishReason = "finish_reason"
        }
    }

    /// A `delta` carries the role in the opening chunk, text in the others, and nothing in the last.
    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
    }

    struct ChunkChoice: Encodable, Sendable {
        var index: Int
        var delta: Delta
        var logprobs = JSONNull()
        @NullWhenAbsent var finishReason: String?

        private enum CodingKeys: String, CodingKey {
            case index, delta, logprobs
            case finishReason = "finish_reason"
        }
    }

    static func choice(_ completed: CompletedChoice) -> Choice {
        Choice(index: completed.index, message: Message(content: completed.text),
               finishReason: completed.summary.finishReason.rawValue, kv: KVReport(completed.summary.kv))
    }

    static func openingChunk(index: Int) -> ChunkChoice? {
        ChunkChoice(index: index, delta: Delta(role: "assistant", content: ""), finishReason: nil)
    }

    static func chunk(index: Int, text: String, finishReason: FinishReason?) -> ChunkChoice {
        ChunkChoice(index: index, delta: Delta(content: finishReason == nil ? text : nil),
                    finishReason: finishReason?.rawValue)
    }
}
