import DMSKit

/// The JSON dialect of one generation endpoint: how its responses, choices and stream chunks look.
/// Chat (`message` / `delta`) and text completions (`text`) differ only here.
protocol CompletionFormat {
    associatedtype Choice: Encodable & Sendable
    associatedtype ChunkChoice: Encodable & Sendable

    /// The `object` of a whole response and of a stream chunk.
    static var object: String { get }
    static var chunkObject: String { get }
    /// How response ids begin (`chatcmpl-`, `cmpl-`).
    static var idPrefix: String { get }
    /// The request field holding the prompt (`messages`, `prompt`), named by prompt errors.
    static var promptParameter: String { get }

    static func choice(_ completed: CompletedChoice) -> Choice
    /// The chunk that opens choice `index`'s stream, if the dialect has one (chat sends the role).
    static func openingChunk(index: Int) -> ChunkChoice?
    /// A chunk of generated text, or the closing chunk carrying the finish reason.
    static func chunk(index: Int, text: String, finishReason: FinishReason?) -> ChunkChoice
}
