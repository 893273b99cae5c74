import DMSKit
import Hummingbird

/// Writes a streamed completion as server-sent events: an opening chunk per choice (chat sends
/// the role), a chunk per piece of text, a closing chunk with the finish reason, the usage chunk
/// when asked for, then `[DONE]`. A failure mid-stream becomes an `error` event instead of `[DONE]`.
struct CompletionStream<Format: CompletionFormat>: Sendable {
    let sequences: [ScheduledSequence]
    let id: String
    let created: Int
    let model: String
    let promptTokens: Int
    let includeUsage: Bool

    func write(to writer: inout any ResponseBodyWriter) async throws {
        for index in sequences.indices {
            if let opening = Format.openingChunk(index: index) { try await writer.write(chunk([opening])) }
        }
        var completionTokens = 0
        var finished = 0
        do {
            for try await (index, event) in sequences.mergedEvents() {
                switch event {
                case .token(let token) where token.text.isEmpty:
                    continue
                case .token(let token):
                    try await writer.write(chunk([Format.chunk(index: index, text: token.text, finishReason: nil)]))
                case .finished(let summary):
                    completionTokens += summary.completionTokens
                    finished += 1
                    try await writer.write(chunk([Format.chunk(index: index, text: "", finishReason: summary.finishReason)]))
                }
            }
        } catch let error as SchedulerError {
            sequences.cancelAll()
            try await writer.write(ServerSentEvents.event(APIError(error, promptParameter: Format.promptParameter)))
            return
        }
        // A sequence that ended unfinished was cancelled: the client has gone.
        guard finished == sequences.count else { return }
        if includeUsage {
            var usage = object([])
            usage.usage = Usage(promptTokens: promptTokens, completionTokens: completionTokens)
            try await writer.write(ServerSentEvents.event(usage))
        }
        try await writer.write(ServerSentEvents.done)
    }

    private func object(_ choices: [Format.ChunkChoice]) -> CompletionObject<Format.ChunkChoice> {
        CompletionObject(id: id, object: Format.chunkObject, created: created, model: model, choices: choices,
                         writesNullUsage: includeUsage)
    }

    private func chunk(_ choices: [Format.ChunkChoice]) throws -> ByteBuffer {
        try ServerSentEvents.event(object(choices))
    }
}
