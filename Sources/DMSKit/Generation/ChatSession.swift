/// A multi-turn conversation over one ``GenerationSession``: each turn appends only the new
/// part of the rendered conversation to the KV cache, which keeps the history.
public final class ChatSession: @unchecked Sendable {
    public let session: GenerationSession
    public let template: ChatTemplate
    public private(set) var messages: [ChatMessage] = []
    public var enableThinking = true
    /// The conversation text the cache holds (rendered prompt(s) plus generated text).
    private var fedText = ""

    public init(session: GenerationSession, template: ChatTemplate, system: String? = nil) {
        self.session = session
        self.template = template
        if let system { messages.append(ChatMessage(role: .system, content: system)) }
    }

    /// Adds a user message, generates the assistant's reply, and records it in the history.
    public func respond(to user: String, options: GenerationOptions,
                        onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> GenerationResult {
        messages.append(ChatMessage(role: .user, content: user))
        let rendered = try template.render(messages: messages, addGenerationPrompt: true, enableThinking: enableThinking)
        let newText: String
        if rendered.hasPrefix(fedText) {
            newText = String(rendered.dropFirst(fedText.count))
        } else {
            // The template rewrote history (Qwen3 drops old reasoning): start the cache over.
            session.reset()
            newText = rendered
        }
        let result: GenerationResult
        do {
            // The template writes any BOS itself, and later turns continue the cached text.
            result = try session.generate(prompt: session.tokenizer.encode(newText, addSpecialTokens: false),
                                          options: options, onToken: onToken)
        } catch {
            messages.removeLast()
            throw error
        }
        fedText = rendered + session.tokenizer.decode(result.tokens.filter { !session.tokenizer.eosTokenIds.contains($0) })
        messages.append(ChatMessage(role: .assistant, content: result.text))
        return result
    }
}
